//! The server console: plain lines on stdout for the admin (recovery and
//! reset codes among them). Tests may also capture the lines the running
//! server printed, through the same path.

use std::io::Write;
use std::sync::Mutex;

#[derive(Default)]
pub struct Console {
    captured: Option<Mutex<Vec<String>>>,
}

impl Console {
    /// A console that also keeps every line it prints.
    pub fn capturing() -> Console {
        Console {
            captured: Some(Mutex::new(Vec::new())),
        }
    }

    /// Prints one plain line (no colour codes) on stdout.
    pub fn line(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
        if let Some(c) = &self.captured {
            c.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(text.to_string());
        }
    }

    /// Lines printed so far (empty unless capturing).
    pub fn lines(&self) -> Vec<String> {
        match &self.captured {
            Some(c) => c.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            None => Vec::new(),
        }
    }
}
