//! Caps on open connections: in all, and per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Counts open connections and refuses those over the caps.
pub struct ConnectionCaps {
    total: Arc<Semaphore>,
    per_addr: usize,
    /// Trusted proxies carry many clients over their connections, so the
    /// per-address cap would throttle everyone behind them.
    exempt: Vec<IpAddr>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds its maximum of connections.
    Total,
    /// This address holds its maximum.
    PerAddress,
}

/// One admitted connection; dropping it frees its place.
pub struct Admitted {
    _total: OwnedSemaphorePermit,
    addr: Option<IpAddr>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl ConnectionCaps {
    /// At most `total` connections, and `per_addr` from any one address
    /// not in `exempt`.
    pub fn new(total: usize, per_addr: usize, exempt: Vec<IpAddr>) -> Self {
        Self {
            total: Arc::new(Semaphore::new(total)),
            per_addr,
            exempt,
            open: Arc::default(),
        }
    }

    /// Admits a connection from `addr`, or says which cap it is over.
    pub fn admit(&self, addr: IpAddr) -> Result<Admitted, Refusal> {
        let total = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Total)?;
        let counted = if self.exempt.contains(&addr) {
            None
        } else {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            let count = open.entry(addr).or_insert(0);
            if *count >= self.per_addr {
                return Err(Refusal::PerAddress);
            }
            *count += 1;
            Some(addr)
        };
        Ok(Admitted {
            _total: total,
            addr: counted,
            open: self.open.clone(),
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let Some(addr) = self.addr else { return };
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&addr) {
            *count -= 1;
            if *count == 0 {
                open.remove(&addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_and_places_come_back() {
        let proxy = IpAddr::from([10, 0, 0, 9]);
        let caps = ConnectionCaps::new(5, 2, vec![proxy]);
        let a = IpAddr::from([10, 0, 0, 1]);
        let first = caps.admit(a).unwrap();
        let _second = caps.admit(a).unwrap();
        assert_eq!(caps.admit(a).err(), Some(Refusal::PerAddress));
        drop(first);
        let _third = caps.admit(a).unwrap();
        let behind_proxy: Vec<_> = (0..3).map(|_| caps.admit(proxy).unwrap()).collect();
        assert_eq!(
            behind_proxy.len(),
            3,
            "a trusted proxy is not capped per address"
        );
        assert_eq!(
            caps.admit(IpAddr::from([10, 0, 0, 2])).err(),
            Some(Refusal::Total)
        );
    }
}
