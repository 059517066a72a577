//! The consumer: on every replica, in place of the tailer, it reads the stream with an ordered
//! consumer and publishes each event into the replica's broadcast, in position order, none
//! skipped and none twice.
//!
//! - It starts where the tailer would: after the log's head at start-up (read once from the
//!   database), so subscribers without `after` get the events from then on.
//! - Messages at or before the last position it published are dropped (the stream may lag
//!   behind the database after an outage; it catches up through them).
//! - A message past the next position (the stream lost messages: aged out while this replica
//!   was cut off, deleted, or a relay found it empty) is preceded by the missing events read
//!   from the database ([`EventLog::read_after`]), once, by this replica.
//! - When the consumer fails it is made again after the message it last handled, if the stream
//!   still has it; else after the stream's last message, with what lies between read from the
//!   database. That is also what happens when the stream was deleted and made again (checked
//!   every few seconds: its last sequence went back).

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::stream::{LastRawMessageErrorKind, Stream};
use futures_util::StreamExt;
use tokio::sync::watch;

use super::link::Link;
use super::{wire, Bus, Part};
use crate::db::events::EventLog;
use crate::events::Inner;

/// Events read from the database per query when filling in.
const BATCH: u64 = 500;

/// How often the consumer checks that the stream is the one it started on.
const LOOK: Duration = Duration::from_secs(5);

/// Where this replica is: the last position it published, and the stream message it last
/// handled (sequence and position), if any.
struct Cursor {
    last: u64,
    handled: Option<(u64, u64)>,
}

/// Feeds the broadcast from the stream until the event bus is dropped.
pub(super) async fn run(
    weak: Weak<Inner>,
    log: EventLog,
    bus: Arc<Bus>,
    link: Arc<Link>,
    started: watch::Sender<bool>,
) {
    let Some(last) = crate::events::start_at_head(&weak, &log, &started, "nats consumer").await
    else {
        return;
    };
    let mut cursor = Cursor {
        last,
        handled: None,
    };
    let mut backoff = Duration::from_millis(100);
    loop {
        if weak.strong_count() == 0 || log.is_closed() {
            return;
        }
        match follow(&weak, &log, &bus, &link, &mut cursor).await {
            Ok(()) => return,
            Err(reason) => {
                if weak.strong_count() == 0 || log.is_closed() {
                    return;
                }
                bus.health.failed(Part::Consumer, reason);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// Reads the stream until it fails (`Err`: why) or the bus is dropped (`Ok`).
async fn follow(
    weak: &Weak<Inner>,
    log: &EventLog,
    bus: &Bus,
    link: &Link,
    cursor: &mut Cursor,
) -> Result<(), String> {
    let stream = link.stream().await?;
    let start = start_after(weak, log, link, &stream, cursor).await?;
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: link.subject.clone(),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: start + 1,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot create a consumer: {e}"))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| format!("cannot read the stream: {e}"))?;
    bus.health.ok(Part::Consumer);
    let mut look = tokio::time::interval(LOOK);
    look.tick().await;
    loop {
        let item = tokio::select! {
            item = messages.next() => item,
            _ = look.tick() => {
                // A stream deleted and made again starts its sequences anew: the consumer
                // would wait for a sequence the new stream reaches much later.
                if let (Ok(info), Some((handled, _))) = (stream.get_info().await, cursor.handled) {
                    if info.state.last_sequence < handled {
                        return Err("the stream was made anew".into());
                    }
                }
                continue;
            }
        };
        let Some(item) = item else { break };
        let message = item.map_err(|e| format!("reading the stream: {e}"))?;
        let sequence = message
            .info()
            .map_err(|e| format!("a message without its metadata: {e}"))?
            .stream_sequence;
        let Some(inner) = weak.upgrade() else {
            return Ok(());
        };
        let event = match wire::decode(&message.payload) {
            Ok(event) => Some(event),
            Err(e) => {
                tracing::warn!(error = %e, sequence, "unreadable event message");
                None
            }
        };
        let position = match &event {
            Some(event) => event.position,
            None => match message_id(&message) {
                Some(p) => p,
                None => continue,
            },
        };
        if position > cursor.last {
            // Anything missing before it, and an unreadable one itself, from the database.
            let before = if event.is_some() {
                position - 1
            } else {
                position
            };
            fill(log, &inner, &mut cursor.last, before).await?;
            if let Some(event) = event {
                cursor.last = event.position;
                inner.publish(Arc::new(event));
            }
        }
        cursor.handled = Some((sequence, position));
    }
    Err("the stream's consumer ended".into())
}

/// The position in a message's id (the relay sets it to the position).
fn message_id(message: &async_nats::jetstream::Message) -> Option<u64> {
    message
        .headers
        .as_ref()?
        .get("Nats-Msg-Id")?
        .as_str()
        .parse()
        .ok()
}

/// The stream sequence to read after: the message last handled if the stream still has it,
/// else the stream's last message (with the events between `cursor.last` and it read from
/// the database first), or 0 when the stream holds no message.
async fn start_after(
    weak: &Weak<Inner>,
    log: &EventLog,
    link: &Link,
    stream: &Stream,
    cursor: &mut Cursor,
) -> Result<u64, String> {
    if let Some((sequence, position)) = cursor.handled {
        if let Ok(m) = stream.get_raw_message(sequence).await {
            if wire::position(&m.payload).ok() == Some(position) {
                return Ok(sequence);
            }
        }
    }
    let (sequence, position) = match stream.get_last_raw_message_by_subject(&link.subject).await {
        Ok(m) => (m.sequence, wire::position(&m.payload)?),
        Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => return Ok(0),
        Err(e) => return Err(format!("stream {}: {e}", link.settings.stream)),
    };
    if position > cursor.last {
        let Some(inner) = weak.upgrade() else {
            return Ok(sequence);
        };
        fill(log, &inner, &mut cursor.last, position).await?;
    }
    Ok(sequence)
}

/// Publishes the events after `last` up to `upto` from the database, in order.
async fn fill(log: &EventLog, inner: &Inner, last: &mut u64, upto: u64) -> Result<(), String> {
    let mut waited = 0;
    while *last < upto {
        let run = log
            .read_after(*last, (upto - *last).min(BATCH))
            .await
            .map_err(|e| format!("cannot read the log: {e}"))?;
        if run.events.is_empty() {
            let bounds = log
                .bounds()
                .await
                .map_err(|e| format!("cannot read the log: {e}"))?;
            if inner.skip_pruned(last, bounds.oldest, upto) {
                continue;
            }
            // Relayed, so committed: visible to the next read.
            waited += 1;
            if waited > 2500 {
                return Err(format!("log position {} not visible", *last + 1));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        for event in run.events {
            *last = event.position;
            inner.publish(Arc::new(event));
        }
    }
    Ok(())
}
