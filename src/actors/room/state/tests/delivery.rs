//! Deliveries reaching subscribers: gaps, notifications from other nodes,
//! the fence, the batching window, slow consumers.

use super::*;

#[test]
fn gap_then_fill_reads_the_missing_seq_and_sends_each_once() {
    let mut h = Harness::loaded("r", 0);
    h.join(1, None);
    h.serve_reads();
    h.publish([1]);
    // Seq 2 committed, but its notification is late; 3's arrives first.
    h.commit([2]);
    h.publish([3]);
    let Read::Gap { from } = h.next_read() else {
        panic!("the gap is read from the log");
    };
    assert_eq!(from, 1);
    assert_eq!(h.seqs(1), [1], "3 waits for 2");
    h.answer(Read::Gap { from });
    assert_eq!(h.seqs(1), [1, 2, 3]);
    // The late notification changes nothing.
    h.notify(&[2]);
    h.publish([4]);
    assert_eq!(h.seqs(1), [1, 2, 3, 4]);
}

#[test]
fn out_of_order_notifications_from_other_nodes_read_the_log_once() {
    // (the heads other nodes report, in arrival order)
    let table: [&[i64]; 4] = [&[5], &[5, 4], &[4, 5, 3], &[3, 5, 5]];
    for hints in table {
        let mut h = Harness::loaded("r", 2);
        h.join(1, None);
        h.serve_reads();
        h.commit(3..=5);
        for seq in hints {
            let effects = h.state.behind(*seq);
            h.apply(effects);
        }
        let gaps = h
            .reads
            .iter()
            .filter(|r| matches!(r, Read::Gap { .. }))
            .count();
        assert_eq!(gaps, 1, "one read at a time for {hints:?}");
        h.serve_reads();
        assert_eq!(h.seqs(1), [3, 4, 5], "hints {hints:?}");
        // The notifications themselves arrive late, in any order.
        h.notify(&[4]);
        h.notify(&[3]);
        h.notify(&[5]);
        assert_eq!(h.seqs(1), [3, 4, 5], "hints {hints:?}");
    }
}

#[test]
fn a_stale_hint_from_another_node_stops_reading() {
    let mut h = Harness::loaded("r", 2);
    let effects = h.state.behind(9);
    h.apply(effects);
    h.serve_reads();
    assert!(h.reads.is_empty(), "no read loop on an empty log");
    h.publish([3]);
    assert!(h.reads.is_empty());
}

#[test]
fn a_resume_past_the_head_waits_for_the_log() {
    let mut h = Harness::loaded("r", 2);
    // Another node committed 3 and 4 and told the client so.
    h.commit(3..=4);
    h.join(1, Some(4));
    assert!(matches!(h.next_read(), Read::Gap { from: 2 }));
    assert!(
        h.socket(1).frames.is_empty(),
        "not answered before the read"
    );
    h.answer(Read::Gap { from: 2 });
    let subscribed = h.socket(1).controls()[0].clone();
    assert_eq!(subscribed["seq"], 4);
    assert_eq!(subscribed["recovered"], true);
    h.publish([5]);
    assert_eq!(h.seqs(1), [5]);
}

#[test]
fn fence_holds_flushes_and_joins_until_refreshed() {
    let mut h = Harness::loaded("r", 2);
    h.join(1, None);
    h.serve_reads();
    let effects = h.state.fence();
    h.apply(effects);
    h.publish([3]);
    h.join(2, Some(0));
    assert!(h.seqs(1).is_empty(), "nothing is delivered while fenced");
    assert!(h.reads.is_empty(), "joins wait while fenced");
    // Another node committed 4 while this node could not hear it.
    h.commit([4]);
    let effects = h.state.refresh();
    h.apply(effects);
    assert!(h.seqs(1).is_empty(), "still fenced until the head is read");
    h.serve_reads();
    assert_eq!(h.seqs(1), [3, 4]);
    assert_eq!(h.seqs(2), [1, 2, 3, 4]);
}

#[test]
fn batching_window_gathers_until_it_ends_and_priority_flushes_at_once() {
    let mut h = Harness::with("r", Duration::from_millis(200), 0);
    h.start();
    h.join(1, None);
    h.serve_reads();
    h.publish([1]);
    h.publish([2]);
    assert!(h.seqs(1).is_empty());
    assert_eq!(h.timers, [Timer::Flush], "one window for both");
    h.fire(Timer::Flush);
    assert_eq!(h.seqs(1), [1, 2]);
    assert_eq!(h.socket(1).frames.len(), 2, "subscribed, one batch-update");
    h.publish([3]);
    let mut urgent = h.delivery(4, "room", "r");
    Arc::get_mut(&mut urgent).unwrap().event = Arc::new(Event {
        priority: true,
        ..urgent.event.copy()
    });
    h.log.insert(4, urgent);
    h.notify(&[4]);
    assert_eq!(
        h.seqs(1),
        [1, 2, 3, 4],
        "a priority event flushes the window"
    );
    assert!(h.timers.is_empty(), "the window's timer is cancelled");
}

#[test]
fn subscribers_at_one_position_share_one_rendering() {
    let mut h = Harness::loaded("r", 0);
    h.join(1, None);
    h.join(2, None);
    h.serve_reads();
    let effects = h
        .state
        .publish(vec![h.delivery(1, "room", "r")], Vec::new());
    let pushes: Vec<&Arc<[Bytes]>> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Push { frames, .. } => Some(frames),
            _ => None,
        })
        .collect();
    assert_eq!(pushes.len(), 2);
    assert!(Arc::ptr_eq(pushes[0], pushes[1]), "the same bytes for both");
}

#[test]
fn an_overflowing_live_subscriber_is_dropped_and_others_go_on() {
    let mut h = Harness::loaded("r", 0);
    h.join(1, None);
    h.join(2, None);
    h.serve_reads();
    h.refuse.insert(1, PushError::Overflow);
    h.publish([1]);
    h.publish([2]);
    assert_eq!(h.evicted, [(1, 1, true)], "slow: the connection stops");
    assert!(h.forgotten.contains(&1));
    assert_eq!(h.seqs(2), [1, 2]);
    assert_eq!(h.state.subscribers(), 1);
}

#[test]
fn the_room_asks_to_stop_only_when_idle() {
    let mut h = Harness::loaded("r", 0);
    h.join(1, None);
    h.serve_reads();
    h.leave(1);
    assert_eq!(h.timers, [Timer::Idle]);
    h.join(2, None);
    h.fire(Timer::Idle);
    assert!(h.idle.is_empty(), "a join came in");
    h.leave(2);
    h.fire(Timer::Idle);
    assert_eq!(h.idle, [2], "it reports the joins it received");
}
