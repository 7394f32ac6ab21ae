//! Helpers shared by the benchmark harnesses.

/// Peak resident memory of this process so far (VmHWM), in KiB; 0 where
/// /proc is not available.
pub fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
