//! The systemd notify protocol (`Type=notify`): tells systemd when the server
//! is ready and when it is stopping, so `systemctl start` returns only once
//! HTTPS is up. Does nothing when not started by systemd.

/// Sends one `sd_notify` message, e.g. `READY=1`, if `NOTIFY_SOCKET` is set.
pub fn notify(message: &str) {
    #[cfg(target_os = "linux")]
    {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr, UnixDatagram};

        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return;
        };
        let path = path.to_string_lossy().into_owned();
        let addr = match path.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            None => SocketAddr::from_pathname(&path),
        };
        let sent = addr.and_then(|addr| {
            let socket = UnixDatagram::unbound()?;
            socket.send_to_addr(message.as_bytes(), &addr)
        });
        if let Err(error) = sent {
            tracing::warn!(%error, socket = %path, "could not notify systemd");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = message;
}
