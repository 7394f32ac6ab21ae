//! Whether a URL the server is asked to fetch points inside its own
//! network. SillyTavern's URL imports fetch whatever they are given, from
//! the server: pointed at `127.0.0.1` or `192.168.x.x` they would reach
//! services no user should (the other users' processes among them). The
//! host is resolved here with the system resolver — which also reads the
//! numeric spellings (`2130706433`, `0x7f.1`) that Node's URL parser
//! accepts — and any loopback, private, link-local, shared, multicast or
//! unspecified address refuses the request. The process resolves the name
//! again when it fetches, so a name that changes its answer in between
//! (DNS rebinding) is not caught; README says so.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use warp::http::Uri;

use super::PermissionError;

/// Refuses `url` when it names (or resolves to) an address inside the
/// server's network. Values that are not http(s) URLs (importUUID's ids)
/// pass: SillyTavern fetches those from fixed public hosts.
pub async fn check(url: &str) -> Result<(), PermissionError> {
    let text = url.trim();
    let lower = text.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://") || lower.contains("://")) {
        return Ok(());
    }
    let shown = shorten(text);
    let refuse = || PermissionError::PrivateAddress(shown.clone());
    let uri: Uri = text.parse().map_err(|_| refuse())?;
    let host = uri.host().ok_or_else(refuse)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains('%') {
        return Err(refuse());
    }
    let port = uri.port_u16().unwrap_or(80);
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::time::timeout(
            std::time::Duration::from_secs(5),
            tokio::net::lookup_host((host, port)),
        )
        .await
        .map_err(|_| refuse())?
        // A name that does not resolve cannot be fetched either; let the
        // process say so.
        .map(|it| it.map(|a| a.ip()).collect())
        .unwrap_or_default(),
    };
    if addrs.into_iter().any(is_internal) {
        return Err(refuse());
    }
    Ok(())
}

fn shorten(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// True for addresses inside a server's own network.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || o[0] == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (o[0] == 100 && (o[1] & 0xc0) == 64)
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local fc00::/7 and link-local fe80::/10.
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        // IPv4-compatible (::a.b.c.d) and NAT64 forms of an internal v4.
        || (s[0..6] == [0; 6] && internal_v4(Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_addresses_are_refused_public_ones_pass() {
        let refused = [
            "http://127.0.0.1:8000/x",
            "http://localhost/",
            "HTTP://LOCALHOST:1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/a.png",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://user@127.0.0.1/",
            "https://",
            "http://127.0.0.%31/",
        ];
        for url in refused {
            assert!(check(url).await.is_err(), "{url} should be refused");
        }
        for url in [
            "http://93.184.215.14/card.png",
            "https://[2606:4700::1111]/",
            "d3b2c2f0-1234-4abc-9def-0123456789ab",
            "AICC/someone/card",
            "",
        ] {
            assert!(check(url).await.is_ok(), "{url} should pass");
        }
    }
}
