//! Joins and catch-ups: snapshots racing commits, resumes from memory and
//! from the log, retention, stale read results, paced catch-up.

use super::*;

#[test]
fn join_during_commit_gets_each_seq_once() {
    // (seq the snapshot was read at, what the subscriber gets after it)
    let table: [(i64, &[i64]); 2] = [
        // Read before 3 committed: 3 follows from memory.
        (2, &[3, 4]),
        // Read after 3 committed: 3 is in the snapshot, not sent again.
        (3, &[4]),
    ];
    for (snapshot_seq, expected) in table {
        let mut h = Harness::loaded("r", 2);
        h.join(1, None);
        let Read::Snapshot { conn, catch_up, .. } = h.next_read() else {
            panic!("a fresh join reads a snapshot");
        };
        // The commit lands between the snapshot's read and its result.
        h.publish([3]);
        let effects = h
            .state
            .snapshot_read(conn, catch_up, Ok(Some((None, snapshot_seq))));
        h.apply(effects);
        h.publish([4]);
        let subscribed = h.socket(1).controls()[0].clone();
        assert_eq!(subscribed["seq"], snapshot_seq);
        assert_eq!(subscribed["recovered"], false);
        assert_eq!(h.seqs(1), expected, "snapshot at {snapshot_seq}");
    }
}

#[test]
fn resume_is_replayed_within_retention_and_snapshotted_beyond() {
    // (retention, since, recovered, events replayed)
    let table: [(u64, i64, bool, Vec<i64>); 4] = [
        (0, 25, true, (26..=30).collect()),
        (10, 25, true, (26..=30).collect()),
        (10, 15, false, vec![]),
        (0, 31, false, vec![]),
    ];
    for (retention, since, recovered, replayed) in table {
        let mut h = Harness::with("r", Duration::ZERO, retention);
        h.commit(1..=30);
        h.start();
        h.join(1, Some(since));
        h.serve_reads();
        let subscribed = h.socket(1).controls()[0].clone();
        let case = format!("retention {retention}, since {since}");
        assert_eq!(subscribed["recovered"], recovered, "{case}");
        assert_eq!(subscribed["seq"], 30, "{case}");
        assert_eq!(h.seqs(1), replayed, "{case}");
        h.publish([31]);
        assert_eq!(h.seqs(1).last(), Some(&31), "{case}: live afterwards");
    }
}

#[test]
fn resume_from_a_pruned_log_gets_a_snapshot() {
    let mut h = Harness::loaded("r", 30);
    // Retention pruned everything up to 20.
    h.log.retain(|seq, _| *seq > 20);
    h.join(1, Some(5));
    h.serve_reads();
    let subscribed = h.socket(1).controls()[0].clone();
    assert_eq!(subscribed["recovered"], false);
    assert!(h.seqs(1).is_empty());
}

#[test]
fn a_long_resume_is_read_page_by_page() {
    let mut h = Harness::loaded("r", 200);
    h.join(1, Some(0));
    let mut pages = 0;
    while let Some(read) = h.reads.pop_front() {
        pages += usize::from(matches!(read, Read::Replay(_)));
        h.answer(read);
    }
    assert_eq!(pages, 4, "200 events in pages of {REPLAY_PAGE}");
    assert_eq!(h.seqs(1), (1..=200).collect::<Vec<_>>());
    assert_eq!(h.socket(1).controls().len(), 1, "one subscribed");
}

#[test]
fn a_stale_join_result_is_dropped() {
    let mut h = Harness::loaded("r", 2);
    h.join(1, None);
    let stale = h.next_read();
    // The connection leaves and joins again before the first read returns.
    h.leave(1);
    h.join(1, None);
    let current = h.next_read();
    h.answer(stale);
    assert!(
        h.socket(1).frames.is_empty(),
        "the left join's snapshot is dropped"
    );
    h.answer(current);
    assert_eq!(h.socket(1).controls().len(), 1);
    h.publish([3]);
    assert_eq!(h.seqs(1), [3]);
}

#[test]
fn a_fresh_subscribe_again_drops_the_replay_in_flight() {
    let mut h = Harness::loaded("r", 100);
    h.join(1, Some(0));
    h.answer_first_replay_page();
    let Read::Replay(page) = h.next_read() else {
        panic!("the second page is read");
    };
    // A subscribe without `since`: a fresh snapshot replaces the replay.
    h.join(1, None);
    h.serve_reads();
    let sent = h.seqs(1);
    let effects = h.state.replay_read(page, Ok(h.page(page.from, page.page)));
    h.apply(effects);
    assert_eq!(h.seqs(1), sent, "the old page is dropped");
    let controls = h.socket(1).controls();
    assert_eq!(controls.len(), 2);
    assert_eq!(controls[1]["recovered"], false);
    h.publish([101]);
    assert_eq!(h.seqs(1).last(), Some(&101));
}

#[test]
fn a_repeated_resume_is_answered_without_resending() {
    let mut h = Harness::loaded("r", 3);
    h.join(1, Some(1));
    h.serve_reads();
    assert_eq!(h.seqs(1), [2, 3]);
    h.join(1, Some(0));
    h.serve_reads();
    assert_eq!(h.seqs(1), [2, 3], "nothing twice");
    let controls = h.socket(1).controls();
    assert_eq!(controls[1]["seq"], 3, "its own position");
}

#[test]
fn a_catch_up_is_paced_by_the_outbox_draining() {
    let mut h = Harness::loaded("r", 0);
    h.publish(1..=10);
    // Room for one envelope per offer (half of what is left is offered;
    // seq 10's envelope is a byte longer than seq 1's).
    let one = h.log[&1].native().len() + 8;
    h.budgets.insert(
        1,
        Budget {
            room_left: 2 * one,
            empty: false,
        },
    );
    h.join(1, Some(0));
    let mut offers = 1;
    while h.timers.contains(&Timer::Pay) && offers < 100 {
        h.fire(Timer::Pay);
        offers += 1;
    }
    assert_eq!(offers, 10, "one event per offer");
    assert_eq!(h.seqs(1), (1..=10).collect::<Vec<_>>());
    h.publish([11]);
    assert_eq!(h.seqs(1).last(), Some(&11), "live once paid");
}

#[test]
fn a_catch_up_that_never_drains_is_closed_as_a_slow_consumer() {
    let mut h = Harness::loaded("r", 0);
    h.publish(1..=3);
    let full = Budget {
        room_left: 0,
        empty: false,
    };
    h.budgets.insert(1, full);
    h.join(1, Some(0));
    h.fire(Timer::Pay);
    assert!(h.closed.is_empty());
    h.now += STALL_LIMIT + Duration::from_secs(1);
    h.fire(Timer::Pay);
    assert_eq!(h.closed, [(1, CLOSE_SLOW_CONSUMER)]);
    assert_eq!(h.evicted, [(1, 1, true)]);
    assert!(h.seqs(1).is_empty());
}

impl Harness {
    /// Answers the first pending read, a replay page.
    fn answer_first_replay_page(&mut self) {
        let read = self.next_read();
        assert!(matches!(read, Read::Replay(_)));
        self.answer(read);
    }
}

use super::super::pace::STALL_LIMIT;
use crate::transport::CLOSE_SLOW_CONSUMER;
