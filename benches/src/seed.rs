//! Seeds N realistic conversations, fast: multi-row INSERTs of 1,000 rows, 10 to a
//! transaction. Deterministic (a fixed pseudo-random sequence), so runs are comparable.

use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use conversation_graphql::db::entity;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait,
    TransactionTrait,
};
use uuid::Uuid;

pub const CUSTOMERS: u64 = 1_000;
const AGENTS_PER_CUSTOMER: u64 = 20;
const BATCH: usize = 1_000;
const BATCHES_PER_TXN: usize = 10;
/// This many consecutive rows share one exact `tm_create`.
const SAME_INSTANT: u64 = 8;

/// A small, fast, deterministic generator (xorshift64*).
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

pub const WORDS: [&str; 16] = [
    "Support",
    "Billing",
    "Order",
    "Refund",
    "Delivery",
    "Account",
    "Booking",
    "Claim",
    "Complaint",
    "Inquiry",
    "Renewal",
    "Upgrade",
    "Warranty",
    "Return",
    "Invoice",
    "Feedback",
];

const SENTENCES: [&str; 8] = [
    "Customer asked about the status of their order and expected delivery date.",
    "Follow-up on a billing discrepancy reported last week.",
    "Wants to change the delivery address before shipment.",
    "Asked for a refund; waiting for the receipt photo.",
    "VIP customer, escalate if there is no answer within one hour.",
    "Reported that the app crashes on login since the last update.",
    "Question about warranty coverage for a damaged item.",
    "Booking confirmed, customer will send documents by LINE.",
];

pub fn customer(n: u64) -> Uuid {
    Uuid::from_u128(0x5e4a_0680_804e_41ec_8477_0000_0000_0000 | u128::from(n))
}

fn agent(customer: u64, n: u64) -> Uuid {
    Uuid::from_u128(0x3a4b_5c6d_7e8f_4012_8456_0000_0000_0000 | u128::from(customer * 1000 + n))
}

pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// A phone number that row `i` uses as its peer (so benchmarks can look it up again).
pub fn peer_number(i: u64) -> String {
    format!("+1{:010}", 2_000_000_000 + (i * 7_919) % 7_000_000_000)
}

fn row(i: u64, rng: &mut Rng) -> entity::ActiveModel {
    let cust = i % CUSTOMERS;
    let line = rng.below(10) < 3;
    let owned = rng.below(10) < 8;
    let owner = owned.then(|| agent(cust, rng.below(AGENTS_PER_CUSTOMER)));
    let tm_create = base_time()
        + Duration::seconds((i / SAME_INSTANT) as i64)
        + Duration::microseconds((i / SAME_INSTANT % 1000) as i64);
    let updated = rng.below(10) < 4;
    let deleted = rng.below(50) == 0;
    let name = format!("{} {} #{}", rng.pick(&WORDS), rng.pick(&WORDS), i);
    let detail = SENTENCES[rng.below(SENTENCES.len() as u64) as usize].to_owned();
    let (kind, peer_type, peer_target, dialog) = if line {
        let id = format!("U{:032x}", u128::from(rng.next()) << 64 | u128::from(i));
        ("line", "line", id.clone(), id)
    } else {
        let number = peer_number(i);
        ("message", "tel", number.clone(), number)
    };
    entity::ActiveModel {
        id: Set(Uuid::from_u128(
            u128::from(rng.next()) << 64 | u128::from(i),
        )),
        customer_id: Set(customer(cust)),
        owner_type: Set(if owned { "agent" } else { "" }.to_owned()),
        owner_id: Set(owner),
        account_id: Set(Uuid::from_u128(
            0xa1b2_c3d4_e5f6_4890_abcd_0000_0000_0000 | u128::from(cust),
        )),
        name: Set(name),
        detail: Set(detail),
        kind: Set(kind.to_owned()),
        dialog_id: Set(dialog),
        self_type: Set(if line { "line" } else { "tel" }.to_owned()),
        self_target: Set(if line {
            format!("Uself{cust:05}")
        } else {
            format!("+1470{:07}", cust)
        }),
        self_target_name: Set(String::new()),
        self_name: Set("Support desk".to_owned()),
        self_detail: Set(String::new()),
        peer_type: Set(peer_type.to_owned()),
        peer_target: Set(peer_target),
        peer_target_name: Set(String::new()),
        peer_name: Set(format!("Customer {}", i % 9_973)),
        peer_detail: Set(String::new()),
        tm_create: Set(tm_create),
        tm_update: Set(updated.then(|| tm_create + Duration::minutes(rng.below(10_000) as i64))),
        tm_delete: Set(deleted.then(|| tm_create + Duration::days(1))),
        version: Set(1),
    }
}

/// Makes sure the table holds exactly `rows` seeded rows; seeds when it is empty. Returns
/// the seeding rate (rows/s) when it seeded.
pub async fn ensure(db: &DatabaseConnection, rows: u64) -> Result<Option<f64>, String> {
    let count = || async {
        entity::Entity::find()
            .count(db)
            .await
            .map_err(|e| e.to_string())
    };
    let mut have = count().await?;
    if have > rows {
        // Rows an earlier run's createConversation scenario added.
        db.execute_unprepared("DELETE FROM conversations WHERE name LIKE 'Bench %'")
            .await
            .map_err(|e| e.to_string())?;
        have = count().await?;
    }
    if have == rows {
        return Ok(None);
    }
    if have != 0 {
        return Err(format!(
            "the database holds {have} rows, not {rows}: point --database-url at a fresh one"
        ));
    }
    let started = Instant::now();
    let mut rng = Rng::new(42);
    let mut i = 0;
    while i < rows {
        let txn = db.begin().await.map_err(|e| e.to_string())?;
        for _ in 0..BATCHES_PER_TXN {
            if i >= rows {
                break;
            }
            let n = (rows - i).min(BATCH as u64);
            let batch: Vec<_> = (i..i + n).map(|k| row(k, &mut rng)).collect();
            entity::Entity::insert_many(batch)
                .exec_without_returning(&txn)
                .await
                .map_err(|e| e.to_string())?;
            i += n;
        }
        txn.commit().await.map_err(|e| e.to_string())?;
        if i % 100_000 == 0 {
            eprintln!(
                "  seeded {i} rows ({:.0} rows/s)",
                i as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let rate = rows as f64 / started.elapsed().as_secs_f64();
    let analyze = match db.get_database_backend() {
        // VACUUM also sets the visibility map, so counts can use index-only scans.
        DbBackend::Postgres => "VACUUM ANALYZE conversations",
        DbBackend::MySql => "ANALYZE TABLE conversations",
        _ => "ANALYZE",
    };
    db.execute_unprepared(analyze)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(rate))
}
