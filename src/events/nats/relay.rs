//! The relay: on the replica that holds the lease, moves the log into the stream, in position
//! order, each event once.
//!
//! A holder first looks at the stream's last message (its position, and its sequence in the
//! stream), or, when the stream holds none, takes the position the lease row recorded. Then it
//! reads the log after that position a batch at a time and publishes the batch pipelined:
//! message id = position (JetStream drops a repeat within its duplicate window), and each
//! message conditional on the stream's last message on the subject being the one before it.
//! A refused condition means another relay moved the stream (two holders for a moment): this
//! one looks again and goes on from there. Any other failure (NATS down, the stream gone)
//! marks the bus down and is retried, with backoff, from the stream's last message again.
//!
//! The lease is renewed every [`RENEW`] by a task of its own, which ends the relaying when a
//! renewal finds another holder or the last successful one is about to run out.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::watch;

use super::link::Link;
use super::{wire, Bus, Part, LEASE, RENEW};
use crate::db::events::EventLog;
use crate::events::Inner;

/// Events read and published per batch.
const BATCH: u64 = 500;

/// The relay stops this long before its lease would run out by its own clock.
const MARGIN: Duration = Duration::from_millis(1500);

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Takes the lease whenever it is free and relays while holding it, until the server stops.
pub(super) async fn run(
    weak: Weak<Inner>,
    log: EventLog,
    bus: Arc<Bus>,
    link: Arc<Link>,
    poll: Duration,
) {
    let mut stop = bus.stop.subscribe();
    loop {
        if weak.strong_count() == 0 || log.is_closed() || *stop.borrow() {
            return;
        }
        let since = Instant::now();
        match log
            .claim_relay(&bus.holder, now_ms(), millis(LEASE), None)
            .await
        {
            Ok(Some(lease)) => {
                tracing::info!(
                    from = lease.relayed,
                    "this replica now relays the event log into NATS"
                );
                bus.relayed.store(lease.relayed, Ordering::Relaxed);
                bus.relaying.store(true, Ordering::Relaxed);
                // Other replicas' wake-ups, only while relaying (nobody reads them otherwise).
                let mut wakes = link.wakes().await;
                let held = Arc::new(Mutex::new(since + LEASE - MARGIN));
                let (lost_tx, lost) = watch::channel(false);
                let renewer = tokio::spawn(renew(log.clone(), bus.clone(), held, lost_tx));
                let mut relay = Relay {
                    log: &log,
                    bus: &bus,
                    link: &link,
                    synced: None,
                };
                relay.lead(&weak, &mut wakes, lost, &mut stop, poll).await;
                renewer.abort();
                if let Some(mut wakes) = wakes {
                    let _ = wakes.unsubscribe().await;
                }
                bus.relaying.store(false, Ordering::Relaxed);
                bus.health.ok(Part::Relay);
                if !*stop.borrow() {
                    tracing::warn!("this replica lost the event relay lease");
                }
            }
            Ok(None) => {}
            Err(e) if !log.is_closed() => {
                tracing::debug!(error = %e, "cannot look at the event relay lease")
            }
            Err(_) => return,
        }
        tokio::select! {
            () = tokio::time::sleep(RENEW) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Renews the lease every [`RENEW`]; says `lost` when another replica holds it, or when the
/// last renewal that went through is about to expire. Stops when the server stops (a renewal
/// that crossed the release gives the lease up again).
async fn renew(log: EventLog, bus: Arc<Bus>, held: Arc<Mutex<Instant>>, lost: watch::Sender<bool>) {
    let stopped = || *bus.stop.borrow();
    loop {
        tokio::time::sleep(RENEW).await;
        if stopped() {
            return;
        }
        let since = Instant::now();
        let relayed = Some(bus.relayed.load(Ordering::Relaxed));
        let claimed = log
            .claim_relay(&bus.holder, now_ms(), millis(LEASE), relayed)
            .await;
        if stopped() {
            let _ = log.release_relay(&bus.holder, relayed).await;
            return;
        }
        let until = match claimed {
            Ok(Some(_)) => since + LEASE - MARGIN,
            Ok(None) => {
                let _ = lost.send(true);
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot renew the event relay lease");
                *held.lock().unwrap_or_else(|e| e.into_inner())
            }
        };
        *held.lock().unwrap_or_else(|e| e.into_inner()) = until;
        if Instant::now() >= until {
            let _ = lost.send(true);
            return;
        }
    }
}

/// What one step of the relay did.
enum Step {
    /// Published a full batch, or stopped at a hole: go on at once.
    More,
    /// Published some: the next read waits a moment for more to gather, then for a wake-up.
    Some,
    /// Nothing new.
    Idle,
    /// Failed; try again after a pause.
    Failed,
}

struct Relay<'a> {
    log: &'a EventLog,
    bus: &'a Bus,
    link: &'a Link,
    /// The stream's last message on the subject as this relay knows it: its position and its
    /// stream sequence (0 when there is none). `None`: look again first.
    synced: Option<(u64, u64)>,
}

impl Relay<'_> {
    async fn lead(
        &mut self,
        weak: &Weak<Inner>,
        wakes: &mut Option<async_nats::Subscriber>,
        mut lost: watch::Receiver<bool>,
        stop: &mut watch::Receiver<bool>,
        poll: Duration,
    ) {
        let mut backoff = Duration::from_millis(100);
        loop {
            if weak.strong_count() == 0 || self.log.is_closed() || *stop.borrow() || *lost.borrow()
            {
                return;
            }
            let wait = match self.step().await {
                Step::More => continue,
                Step::Some => {
                    // As the tailer does: let more commits gather, then read when woken (not
                    // at once: that read would mostly find nothing).
                    backoff = Duration::from_millis(100);
                    tokio::time::sleep(crate::events::COALESCE).await;
                    poll
                }
                Step::Idle => {
                    backoff = Duration::from_millis(100);
                    poll
                }
                Step::Failed => {
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    backoff
                }
            };
            let wake = async {
                match wakes.as_mut() {
                    Some(sub) => {
                        sub.next().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.bus.wake.notified(), if wait == poll => {}
                () = wake, if wait == poll => {}
                _ = lost.changed() => {}
                _ = stop.changed() => {}
            }
            // Wake-ups that queued up meanwhile are all answered by the next read.
            if let Some(sub) = wakes.as_mut() {
                while let Some(Some(_)) = sub.next().now_or_never() {}
            }
        }
    }

    /// Where the stream is: its last message's position and sequence, or the recorded
    /// position when it holds none.
    async fn sync(&mut self) -> Result<(u64, u64), String> {
        if let Some(synced) = self.synced {
            return Ok(synced);
        }
        let stream = self.link.stream().await?;
        let synced = match stream
            .get_last_raw_message_by_subject(&self.link.subject)
            .await
        {
            Ok(m) => (wire::position(&m.payload)?, m.sequence),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => {
                (self.bus.relayed.load(Ordering::Relaxed), 0)
            }
            Err(e) => return Err(format!("stream {}: {e}", self.link.settings.stream)),
        };
        if let Ok(bounds) = self.log.bounds().await {
            if synced.0 > bounds.head {
                tracing::warn!(
                    stream = %self.link.settings.stream,
                    stream_position = synced.0,
                    log_head = bounds.head,
                    "the event stream is ahead of this database's log: is it another \
                     database's stream? (--event-bus-stream)"
                );
            }
        }
        self.bus.relayed.store(synced.0, Ordering::Relaxed);
        self.synced = Some(synced);
        Ok(synced)
    }

    async fn step(&mut self) -> Step {
        let (position, sequence) = match self.sync().await {
            Ok(s) => s,
            Err(reason) => {
                self.bus.health.failed(Part::Relay, reason);
                return Step::Failed;
            }
        };
        let run = match self.log.read_after(position, BATCH).await {
            Ok(run) => run,
            Err(e) => {
                if !self.log.is_closed() {
                    tracing::warn!(error = %e, "event relay cannot read the log; retrying");
                }
                return Step::Failed;
            }
        };
        if run.events.is_empty() {
            if !run.gap {
                return Step::Idle;
            }
            return self.hole(position).await;
        }
        let read = run.events.len() as u64;
        let mut acks = Vec::with_capacity(run.events.len());
        for (k, event) in run.events.iter().enumerate() {
            let publish = PublishMessage::build()
                .payload(wire::encode(event).into())
                .message_id(event.position.to_string())
                .expected_last_subject_sequence(sequence + k as u64);
            match self
                .link
                .js
                .send_publish(self.link.subject.clone(), publish)
                .await
            {
                Ok(ack) => acks.push((event.position, ack)),
                Err(e) => {
                    self.synced = None;
                    self.bus
                        .health
                        .failed(Part::Relay, format!("cannot publish: {e}"));
                    break;
                }
            }
        }
        let sent = acks.len() as u64;
        for (position, ack) in acks {
            match ack.await {
                Ok(ack) => {
                    self.synced = Some((position, ack.sequence));
                    self.bus.relayed.store(position, Ordering::Relaxed);
                }
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                    // Another relay stored messages meanwhile: go on from the stream's end.
                    tracing::debug!("the event stream moved under this relay; looking again");
                    self.synced = None;
                    return Step::More;
                }
                Err(e) => {
                    self.synced = None;
                    self.bus
                        .health
                        .failed(Part::Relay, format!("publish not acknowledged: {e}"));
                    return Step::Failed;
                }
            }
        }
        if sent < read {
            return Step::Failed;
        }
        self.bus.health.ok(Part::Relay);
        if read == BATCH || run.gap {
            Step::More
        } else {
            Step::Some
        }
    }

    /// The position after `position` is not visible while later ones are: pruned before it
    /// was relayed (go on from the oldest kept; the consumers read what they miss from the
    /// database), or numbered by a transaction this read did not see yet (read again soon).
    async fn hole(&mut self, position: u64) -> Step {
        if let Ok(bounds) = self.log.bounds().await {
            if position + 1 < bounds.oldest {
                tracing::warn!(
                    from = position + 1,
                    to = bounds.oldest - 1,
                    "events were pruned before they were relayed"
                );
                if let Some((_, sequence)) = self.synced {
                    self.synced = Some((bounds.oldest - 1, sequence));
                }
                return Step::More;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        Step::More
    }
}
