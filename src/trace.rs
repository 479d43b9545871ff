//! Feature `tracing`: one span per endpoint call (endpoint, grant type, client ID, outcome,
//! duration; never a secret), and every security event as a `tracing` event. Without the
//! feature these are empty inline functions.

#[cfg(feature = "tracing")]
mod on {
    use std::future::Future;
    use std::time::Instant;

    use tracing::Instrument as _;

    use crate::events::{SecurityEvent, SecurityEvents};
    use crate::server::Params;

    /// One endpoint call's span.
    pub(crate) struct Call {
        span: tracing::Span,
        start: Instant,
    }

    impl Call {
        /// Opens the span of `endpoint`; the grant type is request input, so it is cut to the
        /// echo length like anything else a request chose.
        pub(crate) fn start(endpoint: &'static str, params: &Params<'_>) -> Self {
            let grant_type = params
                .pairs()
                .find(|(n, v)| *n == "grant_type" && !v.is_empty())
                .map(|(_, v)| crate::error::echo(v).into_owned());
            let span = tracing::info_span!(
                "portcullis",
                endpoint,
                grant_type = grant_type.as_deref(),
                client_id = tracing::field::Empty,
                outcome = tracing::field::Empty,
                duration_us = tracing::field::Empty,
            );
            Call {
                span,
                start: Instant::now(),
            }
        }

        /// Runs the call's work inside the span.
        pub(crate) async fn run<F: Future>(&self, work: F) -> F::Output {
            work.instrument(self.span.clone()).await
        }

        /// Records the outcome and how long the call took.
        pub(crate) fn finish(self, outcome: &str) {
            let micros = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.span.record("outcome", outcome);
            self.span.record("duration_us", micros);
        }
    }

    /// Records the client a call is for on the current span (an authenticated or known one).
    pub(crate) fn client(id: &str) {
        tracing::Span::current().record("client_id", id);
    }

    /// The host's security events, each also emitted as a `tracing` warning.
    pub(crate) struct Traced(pub(crate) std::sync::Arc<dyn SecurityEvents>);

    impl SecurityEvents for Traced {
        fn report(&self, event: &SecurityEvent) {
            // `SecurityEvent` carries no secret, code or token, by construction.
            tracing::warn!(security_event = ?event, "portcullis security event");
            self.0.report(event);
        }
    }

    /// Wraps the host's hook so that events also go to `tracing`.
    pub(crate) fn events(
        events: std::sync::Arc<dyn SecurityEvents>,
    ) -> std::sync::Arc<dyn SecurityEvents> {
        std::sync::Arc::new(Traced(events))
    }
}

#[cfg(not(feature = "tracing"))]
mod on {
    use std::future::Future;

    use crate::events::SecurityEvents;
    use crate::server::Params;

    pub(crate) struct Call;

    impl Call {
        #[inline]
        pub(crate) fn start(_endpoint: &'static str, _params: &Params<'_>) -> Self {
            Call
        }

        #[inline]
        pub(crate) async fn run<F: Future>(&self, work: F) -> F::Output {
            work.await
        }

        #[inline]
        pub(crate) fn finish(self, _outcome: &str) {}
    }

    #[inline]
    pub(crate) fn client(_id: &str) {}

    #[inline]
    pub(crate) fn events(
        events: std::sync::Arc<dyn SecurityEvents>,
    ) -> std::sync::Arc<dyn SecurityEvents> {
        events
    }
}

pub(crate) use on::{Call, client, events};
