//! A minimal `tracing` subscriber that records the `ai_data.operation`
//! spans (see `ai_data_core::observe`) opened on this thread, so a test can
//! check that one call is exactly one observed operation.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One observed operation, as its span saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub store: String,
    pub operation: String,
    pub target: String,
    pub rows: Option<u64>,
    pub outcome: String,
}

#[derive(Default)]
struct State {
    seen: Vec<Seen>,
    by_span: HashMap<u64, usize>,
}

/// The recorder; [`Operations::install`] makes it this thread's default.
#[derive(Clone, Default)]
pub struct Operations {
    state: Arc<Mutex<State>>,
    next: Arc<AtomicU64>,
}

impl std::fmt::Debug for Operations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operations").finish_non_exhaustive()
    }
}

impl Operations {
    /// Record on this thread until the guard drops.
    pub fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        let operations = Operations::default();
        let guard = tracing::subscriber::set_default(operations.clone());
        // Callsites already registered (by the fake, the test kit) learn
        // about this subscriber now.
        tracing::callsite::rebuild_interest_cache();
        (operations, guard)
    }

    /// Everything seen so far, and forget it.
    pub fn take(&self) -> Vec<Seen> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.by_span.clear();
        std::mem::take(&mut state.seen)
    }
}

struct Fields<'a>(&'a mut Seen);

impl Visit for Fields<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "rows" {
            self.0.rows = Some(value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            "store" => &mut self.0.store,
            "operation" => &mut self.0.operation,
            "target" => &mut self.0.target,
            "outcome" => &mut self.0.outcome,
            _ => return,
        };
        value.clone_into(slot);
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn fmt::Debug) {}
}

impl Subscriber for Operations {
    fn enabled(&self, _metadata: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        if span.metadata().name() == "ai_data.operation" {
            let mut seen = Seen::default();
            span.record(&mut Fields(&mut seen));
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let index = state.seen.len();
            state.seen.push(seen);
            state.by_span.insert(id, index);
        }
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&index) = state.by_span.get(&span.into_u64()) {
            values.record(&mut Fields(&mut state.seen[index]));
        }
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}
    fn event(&self, _event: &Event<'_>) {}
    fn enter(&self, _span: &Id) {}
    fn exit(&self, _span: &Id) {}
}
