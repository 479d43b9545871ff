//! Feature `tracing`: each endpoint call is one span with its endpoint, grant type, client,
//! outcome and duration, never a secret; security events are `tracing` events.
#![cfg(feature = "tracing")]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use portcullis::client::{ClientSettings, ClientType, Flow, NewClient, SecretChange};
use portcullis::users::MemoryUserDirectory;
use portcullis::{AuthorizationServer, Params, Scope, ServerSettings};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const SECRET: &str = "traced-client-secret-0123456789abcdef";

/// Every span's fields as text, and every event's, in order.
#[derive(Default)]
struct Captured {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, HashMap<String, String>>>,
    metadata: Mutex<HashMap<u64, &'static Metadata<'static>>>,
    /// The entered spans, innermost last (the test runs on one thread).
    entered: Mutex<Vec<u64>>,
    events: Mutex<Vec<String>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Captured>);

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.0.next.fetch_add(1, Ordering::SeqCst) + 1;
        let mut fields = HashMap::new();
        span.record(&mut Fields(&mut fields));
        self.0.spans.lock().unwrap().insert(id, fields);
        self.0.metadata.lock().unwrap().insert(id, span.metadata());
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.0.spans.lock().unwrap();
        if let Some(fields) = spans.get_mut(&span.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.events.lock().unwrap().push(format!("{fields:?}"));
    }
    fn enter(&self, span: &Id) {
        self.0.entered.lock().unwrap().push(span.into_u64());
    }
    fn exit(&self, span: &Id) {
        let mut entered = self.0.entered.lock().unwrap();
        if let Some(i) = entered.iter().rposition(|s| *s == span.into_u64()) {
            entered.remove(i);
        }
    }
    fn current_span(&self) -> tracing_core::span::Current {
        let current = self.0.entered.lock().unwrap().last().copied();
        match current.and_then(|id| Some((id, *self.0.metadata.lock().unwrap().get(&id)?))) {
            Some((id, meta)) => tracing_core::span::Current::new(Id::from_u64(id), meta),
            None => tracing_core::span::Current::none(),
        }
    }
}

#[test]
fn an_endpoint_call_is_one_span_with_what_an_operator_needs_and_no_secret() {
    let capture = Capture::default();
    let captured = capture.0.clone();
    tracing::subscriber::with_default(capture, || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let users = MemoryUserDirectory::default();
                users
                    .insert("alice", "pw", Scope::parse("read").unwrap())
                    .unwrap();
                let server = AuthorizationServer::builder(
                    ServerSettings::new("https://as.example").unwrap(),
                    Arc::new(users),
                )
                .build()
                .unwrap();
                let mut c = NewClient::manual(
                    ClientType::Confidential,
                    ClientSettings {
                        name: "Svc".into(),
                        flows: [Flow::ClientCredentials].into_iter().collect(),
                        scopes: vec!["read".into()],
                        ..ClientSettings::default()
                    },
                );
                c.client_id = Some(portcullis::ClientId::new("svc").unwrap());
                server
                    .clients()
                    .create_with_secret(
                        c,
                        SecretChange::KeyIn {
                            secret: SECRET.into(),
                            confirmation: SECRET.into(),
                        },
                    )
                    .await
                    .unwrap();
                let ok =
                    format!("grant_type=client_credentials&client_id=svc&client_secret={SECRET}");
                let r = server.token(None, &Params::parse(&ok)).await;
                assert_eq!(r.status(), 200);
                let token = r.json()["access_token"].as_str().unwrap().to_owned();
                let bad = "grant_type=client_credentials&client_id=svc&client_secret=wrong-guess";
                server.token(None, &Params::parse(bad)).await;
                let spans = captured.spans.lock().unwrap();
                let all = format!("{spans:?}");
                let issued = spans
                    .values()
                    .find(|f| f.get("outcome").map(String::as_str) == Some("ok"))
                    .expect("the successful call's span");
                assert_eq!(issued["endpoint"], "token");
                assert_eq!(issued["grant_type"], "client_credentials");
                assert_eq!(issued["client_id"], "svc");
                assert!(issued.contains_key("duration_us"));
                assert!(
                    spans
                        .values()
                        .any(|f| f.get("outcome").map(String::as_str) == Some("invalid_client")),
                    "{all}"
                );
                assert!(
                    !all.contains(SECRET) && !all.contains("wrong-guess") && !all.contains(&token)
                );
                let events = captured.events.lock().unwrap().join("\n");
                assert!(events.contains("ClientAuthenticationFailed"), "{events}");
                assert!(!events.contains("wrong-guess"), "{events}");
            });
    });
}
