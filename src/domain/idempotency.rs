//! Idempotent writes (DESIGN §10): a write may carry `Idempotency-Key`. Its
//! first answer is stored in the write's own transaction; a repeat with the
//! same key and the same request gets that answer again and writes nothing;
//! the same key with another request is 422 `idempotency_mismatch`.
//!
//! Repeats never see a write "half done": on one node the writer runs
//! commands one after another, so a repeat finds the stored answer (in the
//! same group or a later one); on another node its insert of the key waits
//! for the first writer's row lock, fails once that commits, and the repeat
//! is then answered from the stored row. A repeat is therefore answered with
//! the first answer rather than 409, whichever node it reaches.

use super::{apply, Command, CommandCtx, Outcome};
use crate::db::idempotency::{self as q, StoredAnswer};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use diesel::result::{DatabaseErrorKind, Error as DbError};
use serde_json::{json, Map, Value};

/// Longest `Idempotency-Key`.
pub const MAX_KEY: usize = 255;

/// What identifies a keyed write: the key and a fingerprint of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The header's value: 1–255 visible ASCII characters.
    pub key: String,
    /// The request's method.
    pub method: String,
    /// The request's path and query.
    pub path: String,
    /// SHA-256 of the request body, hex.
    pub body_hash: String,
}

impl IdempotencyKey {
    /// Checks the header's value.
    pub fn validate(key: &str) -> AppResult<()> {
        if !crate::validate::from_set(key, MAX_KEY, |b| (0x21..=0x7e).contains(&b)) {
            return Err(AppError::BadRequest(format!(
                "Idempotency-Key must be 1-{MAX_KEY} visible ASCII characters"
            )));
        }
        Ok(())
    }
}

/// Why a keyed command did not produce an outcome.
pub enum KeyedError {
    /// The command (or the database) failed.
    App(AppError),
    /// Another writer stored an answer for this key while this one ran:
    /// this attempt is rolled back; answer from the stored row.
    Taken,
    /// An earlier command of this same group holds the key (its answer is
    /// complete only once the group's seqs are taken): answer as it does.
    InGroup,
}

impl From<DbError> for KeyedError {
    fn from(err: DbError) -> Self {
        KeyedError::App(err.into())
    }
}

impl From<AppError> for KeyedError {
    fn from(err: AppError) -> Self {
        KeyedError::App(err)
    }
}

/// The body of a write's HTTP answer: the resource's fields and the events
/// the write made.
pub fn answer_body(outcome: &Outcome) -> Map<String, Value> {
    let mut body = outcome.body.clone();
    if outcome.replayed {
        return body;
    }
    let events: Vec<Value> = outcome
        .committed
        .iter()
        .flat_map(|c| {
            c.deliveries.iter().map(|d| {
                json!({"id": c.event.id, "room": d.room, "seq": d.seq,
                       "event_type": c.event.event_type})
            })
        })
        .collect();
    body.insert("events".into(), Value::Array(events));
    body
}

/// Runs `command`, honouring its key: keys older than `expired_before`
/// (unix ms) are forgotten first. Run it inside the command's savepoint.
pub fn apply_keyed(
    conn: &mut DbConn,
    ctx: &CommandCtx,
    command: &Command,
    expired_before: i64,
) -> Result<Outcome, KeyedError> {
    let Some(key) = ctx.idempotency.as_deref() else {
        return Ok(apply(conn, ctx, command)?);
    };
    let caller = ctx.caller.key();
    q::expire(conn, expired_before, Some((caller, &key.key)))?;
    if let Some(stored) = q::find(conn, caller, &key.key, expired_before)? {
        if stored.response.is_empty() {
            check_same(&stored, key)?;
            return Err(KeyedError::InGroup);
        }
        return Ok(replay(&stored, key)?);
    }
    if let Some(rate) = &ctx.rate {
        rate.take()?;
    }
    let outcome = apply(conn, ctx, command)?;
    // The key is taken now, inside the command's savepoint (so a race with
    // another node is decided here); its answer is filled in by
    // [`store_answer`] once the group has given the events their seqs.
    let stored = StoredAnswer {
        caller: caller.to_string(),
        key: key.key.clone(),
        method: key.method.clone(),
        path: key.path.clone(),
        body_hash: key.body_hash.clone(),
        created: outcome.created,
        response: String::new(),
        created_at: ctx.now,
    };
    match q::insert(conn, &stored) {
        Ok(()) => Ok(outcome),
        Err(DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Err(KeyedError::Taken)
        }
        Err(err) => Err(err.into()),
    }
}

/// Fills in the stored answer of a keyed write that ran (not a replay),
/// after its group delivered its events.
pub fn store_answer(conn: &mut DbConn, ctx: &CommandCtx, outcome: &Outcome) -> AppResult<()> {
    match ctx.idempotency.as_deref() {
        Some(key) if !outcome.replayed => {
            let body = Value::Object(answer_body(outcome)).to_string();
            Ok(q::set_answer(
                conn,
                ctx.caller.key(),
                &key.key,
                outcome.created,
                &body,
            )?)
        }
        _ => Ok(()),
    }
}

/// The answer of a command that repeated an earlier one of its group.
pub fn same_answer(first: &Outcome) -> Outcome {
    Outcome {
        created: first.created,
        body: answer_body(first),
        replayed: true,
        ..Outcome::default()
    }
}

/// After [`KeyedError::Taken`]: the answer another writer stored.
pub fn answer_taken(
    conn: &mut DbConn,
    ctx: &CommandCtx,
    expired_before: i64,
) -> AppResult<Outcome> {
    let key = ctx
        .idempotency
        .as_deref()
        .ok_or_else(|| AppError::Internal("taken without a key".into()))?;
    match q::find(conn, ctx.caller.key(), &key.key, expired_before)? {
        Some(stored) => replay(&stored, key),
        None => Err(AppError::Conflict(
            "a write with this Idempotency-Key is in flight".into(),
        )),
    }
}

/// 422 unless `key` names the request `stored` was made for.
fn check_same(stored: &StoredAnswer, key: &IdempotencyKey) -> AppResult<()> {
    if stored.method != key.method || stored.path != key.path || stored.body_hash != key.body_hash {
        return Err(AppError::IdempotencyMismatch(
            "this Idempotency-Key was used for another request".into(),
        ));
    }
    Ok(())
}

/// The stored answer again, if the request is the same.
fn replay(stored: &StoredAnswer, key: &IdempotencyKey) -> AppResult<Outcome> {
    check_same(stored, key)?;
    if stored.response.is_empty() {
        return Err(AppError::Conflict(
            "a write with this Idempotency-Key is in flight".into(),
        ));
    }
    let body = match serde_json::from_str(&stored.response) {
        Ok(Value::Object(map)) => map,
        _ => return Err(AppError::Internal("stored answer is not an object".into())),
    };
    Ok(Outcome {
        created: stored.created,
        body,
        replayed: true,
        ..Outcome::default()
    })
}
