//! The connection to NATS and the stream: connecting in the background (a server that is not
//! there yet is retried for ever), creating the stream when it is missing, and the wake-up
//! subject.

use std::sync::Arc;
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::{self, stream};
use async_nats::{Client, ConnectOptions, Event};

use super::{Bus, NatsSettings};

/// How long one JetStream request may take (publish acknowledgement, stream look-up).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One replica's connection.
pub(super) struct Link {
    client: Client,
    pub(super) js: jetstream::Context,
    pub(super) settings: NatsSettings,
    pub(super) subject: String,
}

impl Link {
    /// Connects in the background: returns at once, and the bus's health follows the
    /// connection from then on.
    pub(super) async fn connect(
        settings: &NatsSettings,
        bus: &Arc<Bus>,
    ) -> Result<Link, async_nats::ConnectError> {
        let events = Arc::downgrade(bus);
        let client = ConnectOptions::new()
            .name("conversation-graphql")
            .retry_on_initial_connect()
            .connection_timeout(REQUEST_TIMEOUT)
            .request_timeout(Some(REQUEST_TIMEOUT))
            // At most 2 s between attempts, so events flow soon after NATS is back.
            .reconnect_delay_callback(|attempts| match attempts {
                0 | 1 => Duration::ZERO,
                n => Duration::from_millis(50u64 << n.min(6)).min(Duration::from_secs(2)),
            })
            .event_callback(move |event| {
                let events = events.clone();
                async move {
                    let Some(bus) = events.upgrade() else { return };
                    match event {
                        Event::Connected => bus.health.connected(true),
                        Event::Disconnected | Event::Closed => bus.health.connected(false),
                        _ => {}
                    }
                }
            })
            .connect(settings.url.as_str())
            .await?;
        let js = jetstream::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .build(client.clone());
        Ok(Link {
            client,
            js,
            subject: settings.subject(),
            settings: settings.clone(),
        })
    }

    pub(super) fn connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    /// The stream, created if it does not exist (an existing stream keeps its own settings).
    pub(super) async fn stream(&self) -> Result<stream::Stream, String> {
        let config = stream::Config {
            name: self.settings.stream.clone(),
            description: Some("conversation-graphql event log".into()),
            subjects: vec![self.subject.clone()],
            max_age: self.settings.max_age,
            storage: stream::StorageType::File,
            ..Default::default()
        };
        self.js
            .get_or_create_stream(config)
            .await
            .map_err(|e| format!("stream {}: {e}", self.settings.stream))
    }

    /// Tells every relay candidate that events may be waiting (plain NATS, at most once; a
    /// lost wake-up costs only the poll interval).
    pub(super) async fn wake_others(&self) {
        if self.connected() {
            let _ = self
                .client
                .publish(self.settings.wake_subject(), Default::default())
                .await;
        }
    }

    /// Wake-ups sent by [`Link::wake_others`] of every replica.
    pub(super) async fn wakes(&self) -> Option<async_nats::Subscriber> {
        self.client
            .subscribe(self.settings.wake_subject())
            .await
            .ok()
    }
}
