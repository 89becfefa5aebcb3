//! Pool gauges from the driver's connection-monitoring (CMAP) events.
//!
//! The driver keeps one pool per server and exposes its state only through
//! events; [`PoolGauges`] counts them per server and publishes the sums
//! with [`record_pool`] as `ai_data_pool_connections{store="mongodb"}`:
//! `in_use` = checked-out connections, `idle` = open minus checked out,
//! `max` = the sum of the pools' `maxPoolSize` (0 when unlimited).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use mongodb::event::cmap::CmapEvent;
use mongodb::event::EventHandler;
use mongodb::options::ServerAddress;

use ai_data_core::executor::PoolState;
use ai_data_core::observe::record_pool;
use ai_data_core::Store;

/// The driver's default `maxPoolSize`.
const DRIVER_DEFAULT_MAX_POOL_SIZE: u32 = 10;

/// What one event changes in one server's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PoolChange {
    /// A pool was created with this `maxPoolSize` (0: unlimited).
    Created { max: usize },
    /// The pool was closed; its connections go with it.
    Closed,
    /// A connection was opened (counts against `maxPoolSize` from here).
    Opened,
    /// A connection was closed.
    Dropped,
    /// A connection was checked out by an operation.
    CheckedOut,
    /// A connection was returned to the pool.
    CheckedIn,
}

/// One server's pool.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct PoolCounts {
    open: usize,
    in_use: usize,
    max: usize,
}

/// The sums over every server's pool.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct PoolTotals {
    in_use: usize,
    idle: usize,
    max: usize,
}

/// Per-server pool counts fed by CMAP events.
#[derive(Debug, Default)]
pub(crate) struct PoolGauges {
    pools: Mutex<HashMap<ServerAddress, PoolCounts>>,
}

impl PoolGauges {
    /// An event handler for `ClientOptions::cmap_event_handler` that keeps
    /// `gauges` up to date and publishes them.
    pub(crate) fn handler(gauges: Arc<PoolGauges>) -> EventHandler<CmapEvent> {
        EventHandler::callback(move |event: CmapEvent| gauges.on_event(&event))
    }

    /// The sums over every server's pool now (for the executor, which
    /// publishes them after each call).
    pub(crate) fn state(&self) -> PoolState {
        let totals = totals(&self.pools.lock().unwrap_or_else(PoisonError::into_inner));
        PoolState {
            in_use: totals.in_use,
            idle: totals.idle,
            max: totals.max,
        }
    }

    fn on_event(&self, event: &CmapEvent) {
        let Some((address, change)) = change_of(event) else {
            return;
        };
        let totals = {
            let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
            apply(&mut pools, address, change);
            totals(&pools)
        };
        record_pool(Store::Mongo, totals.in_use, totals.idle, totals.max);
    }
}

/// The events that change a count; the others (checkout started or
/// failed, connection ready, pool ready or cleared) change none: a cleared
/// pool's connections are closed one by one, each with its own event.
fn change_of(event: &CmapEvent) -> Option<(&ServerAddress, PoolChange)> {
    Some(match event {
        CmapEvent::PoolCreated(e) => {
            let max = e
                .options
                .as_ref()
                .and_then(|o| o.max_pool_size)
                .unwrap_or(DRIVER_DEFAULT_MAX_POOL_SIZE);
            let max = usize::try_from(max).unwrap_or(usize::MAX);
            (&e.address, PoolChange::Created { max })
        }
        CmapEvent::PoolClosed(e) => (&e.address, PoolChange::Closed),
        CmapEvent::ConnectionCreated(e) => (&e.address, PoolChange::Opened),
        CmapEvent::ConnectionClosed(e) => (&e.address, PoolChange::Dropped),
        CmapEvent::ConnectionCheckedOut(e) => (&e.address, PoolChange::CheckedOut),
        CmapEvent::ConnectionCheckedIn(e) => (&e.address, PoolChange::CheckedIn),
        _ => return None,
    })
}

fn apply(
    pools: &mut HashMap<ServerAddress, PoolCounts>,
    address: &ServerAddress,
    change: PoolChange,
) {
    match change {
        PoolChange::Created { max } => {
            pools.insert(
                address.clone(),
                PoolCounts {
                    max,
                    ..PoolCounts::default()
                },
            );
        }
        // A closed pool's checked-out connections are closed without being
        // checked in: forget the pool rather than its counts drifting.
        PoolChange::Closed => {
            pools.remove(address);
        }
        change => {
            // Events of a pool already closed (or created before the
            // handler saw it) are ignored.
            let Some(pool) = pools.get_mut(address) else {
                return;
            };
            match change {
                PoolChange::Opened => pool.open += 1,
                PoolChange::Dropped => pool.open = pool.open.saturating_sub(1),
                PoolChange::CheckedOut => pool.in_use += 1,
                PoolChange::CheckedIn => pool.in_use = pool.in_use.saturating_sub(1),
                PoolChange::Created { .. } | PoolChange::Closed => {}
            }
        }
    }
}

fn totals(pools: &HashMap<ServerAddress, PoolCounts>) -> PoolTotals {
    pools.values().fold(PoolTotals::default(), |sum, pool| {
        // A connection is checked out only once opened; the saturation only
        // guards against events arriving out of order.
        let in_use = pool.in_use.min(pool.open);
        PoolTotals {
            in_use: sum.in_use + in_use,
            idle: sum.idle + (pool.open - in_use),
            max: sum.max.saturating_add(pool.max),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(host: &str) -> ServerAddress {
        ServerAddress::Tcp {
            host: host.to_owned(),
            port: Some(27017),
        }
    }

    #[test]
    fn counts_follow_checkouts_per_server_and_sum() {
        let mut pools = HashMap::new();
        let (a, b) = (addr("a"), addr("b"));
        apply(&mut pools, &a, PoolChange::Created { max: 10 });
        apply(&mut pools, &b, PoolChange::Created { max: 10 });
        for change in [
            PoolChange::Opened,
            PoolChange::Opened,
            PoolChange::CheckedOut,
            PoolChange::CheckedOut,
            PoolChange::CheckedIn,
        ] {
            apply(&mut pools, &a, change);
        }
        apply(&mut pools, &b, PoolChange::Opened);
        apply(&mut pools, &b, PoolChange::CheckedOut);
        assert_eq!(
            totals(&pools),
            PoolTotals {
                in_use: 2,
                idle: 1,
                max: 20
            }
        );
        // A cleared pool closes its idle connection; the checked-in one too.
        apply(&mut pools, &a, PoolChange::Dropped);
        apply(&mut pools, &a, PoolChange::CheckedIn);
        apply(&mut pools, &a, PoolChange::Dropped);
        assert_eq!(
            totals(&pools),
            PoolTotals {
                in_use: 1,
                idle: 0,
                max: 20
            }
        );
    }

    #[test]
    fn a_closed_pool_is_forgotten_and_late_events_ignored() {
        let mut pools = HashMap::new();
        let a = addr("a");
        apply(&mut pools, &a, PoolChange::Created { max: 5 });
        apply(&mut pools, &a, PoolChange::Opened);
        apply(&mut pools, &a, PoolChange::CheckedOut);
        apply(&mut pools, &a, PoolChange::Closed);
        // The checked-out connection is closed without a check-in.
        apply(&mut pools, &a, PoolChange::Dropped);
        apply(&mut pools, &addr("unknown"), PoolChange::CheckedOut);
        assert_eq!(totals(&pools), PoolTotals::default());
        // Out-of-order events never underflow.
        apply(&mut pools, &a, PoolChange::Created { max: 5 });
        apply(&mut pools, &a, PoolChange::CheckedIn);
        apply(&mut pools, &a, PoolChange::Dropped);
        assert_eq!(
            totals(&pools),
            PoolTotals {
                in_use: 0,
                idle: 0,
                max: 5
            }
        );
    }
}
