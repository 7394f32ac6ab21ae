//! Whether a given process is the one listening on a loopback port.
//!
//! SillyTavern cannot be handed a socket: Innkeeper picks a free port, lets
//! it go and passes its number, and something else may bind it before the
//! process does. The process then exits with EADDRINUSE, but until it has,
//! the port answers, for whoever took it: possibly another Innkeeper's
//! SillyTavern on the same install, which would accept this user's session
//! (same cookie secret, perhaps the same handle). So a start counts as ready
//! only once the answering socket is the process's own, read from Linux's
//! `/proc`: the listening sockets of `/proc/<pid>/net/tcp` on that port,
//! matched by inode against the process's open descriptors.

use std::collections::HashSet;
use std::path::Path;

/// What `/proc` says about `pid` and `port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// `pid` holds a socket listening on the port.
    This,
    /// Something listens on the port, but not through `pid`'s descriptors
    /// (or nothing listens yet).
    Other,
    /// `/proc` cannot tell (not mounted, or the process is gone).
    Unknown,
}

/// Who listens on `127.0.0.1:port` (IPv4, as SillyTavern is started),
/// relative to `pid`.
pub fn owner(pid: u32, port: u16) -> Owner {
    owner_in(Path::new("/proc"), pid, port)
}

fn owner_in(proc_root: &Path, pid: u32, port: u16) -> Owner {
    let dir = proc_root.join(pid.to_string());
    let Ok(table) = std::fs::read_to_string(dir.join("net/tcp")) else {
        return Owner::Unknown;
    };
    let listening = listening_inodes(&table, port);
    if listening.is_empty() {
        return Owner::Other;
    }
    let Ok(fds) = std::fs::read_dir(dir.join("fd")) else {
        return Owner::Unknown;
    };
    let holds = fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            socket_inode(&target.to_string_lossy()).is_some_and(|i| listening.contains(&i))
        })
    });
    if holds {
        Owner::This
    } else {
        Owner::Other
    }
}

/// Inodes of the sockets in a `/proc/net/tcp` table that listen on `port`.
/// A row: `sl local_address rem_address st tx:rx tr:when retrnsmt uid
/// timeout inode …`, addresses as `HEXADDR:HEXPORT`, state `0A` = LISTEN.
fn listening_inodes(table: &str, port: u16) -> HashSet<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let local = cols.get(1)?;
            let (_, hex_port) = local.rsplit_once(':')?;
            let listens = *cols.get(3)? == "0A";
            let same_port = u16::from_str_radix(hex_port, 16).ok()? == port;
            (listens && same_port).then(|| cols.get(9)?.parse().ok())?
        })
        .collect()
}

/// The inode of a descriptor link `socket:[12345]`.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_row_is_read_by_state_and_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0\n\
           1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0 20 4 30 10 -1\n\
           2: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0 100 0 0 10 0\n";
        assert_eq!(listening_inodes(table, 8080), HashSet::from([4242]));
        assert_eq!(listening_inodes(table, 8081), HashSet::from([4444]));
        assert!(listening_inodes(table, 9000).is_empty());
        assert!(listening_inodes("header only\n", 8080).is_empty());
        assert!(listening_inodes("h\n garbage row\n", 8080).is_empty());
    }

    #[test]
    fn socket_links_name_their_inode() {
        assert_eq!(socket_inode("socket:[98765]"), Some(98765));
        assert_eq!(socket_inode("pipe:[98765]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
    }

    #[test]
    fn a_port_is_ours_only_while_our_own_socket_listens_on_it() {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(owner(std::process::id(), port), Owner::This);
        // Another process sees the same port held by someone else.
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep runs");
        assert_eq!(owner(other.id(), port), Owner::Other);
        other.kill().unwrap();
        other.wait().unwrap();
        drop(listener);
        assert_eq!(owner(std::process::id(), port), Owner::Other);
        assert_eq!(
            owner_in(Path::new("/nonexistent-proc"), std::process::id(), port),
            Owner::Unknown
        );
    }
}
