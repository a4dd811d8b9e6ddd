//! Access: revocation at every stage of a join, refusals and their
//! re-check, redaction in project rooms.

use super::*;
use crate::transport::CLOSE_REVOKED;

/// A session room `session:s1` owned by alice, bob a viewer, at `head`.
fn shared_session(head: i64) -> Harness {
    let mut h = Harness::new("session:s1");
    h.facts.push(private_session("s1", "alice", &["bob"], 1));
    h.commit(1..=head);
    h.start();
    h
}

#[test]
fn revocation_mid_catch_up_sends_nothing_more() {
    // (dialect, close code, frames the socket ends with, slow)
    let table = [
        (Dialect::Native, None, "unsubscribed", false),
        (Dialect::Flat, Some(CLOSE_REVOKED), "", true),
    ];
    for (dialect, close, last, slow) in table {
        let mut h = shared_session(100);
        let mut bob = joiner(7, Some(0), user("bob"));
        bob.dialect = dialect;
        h.join_as(bob);
        let Read::Replay(page) = h.next_read() else {
            panic!("a resume from the log");
        };
        // Bob's access ends while his replay is being read.
        h.change_access(private_session("s1", "alice", &[], 2));
        let found = h.page(page.from, page.page);
        let effects = h.state.replay_read(page, Ok(found));
        h.apply(effects);
        assert!(
            h.seqs(7).is_empty(),
            "{dialect:?}: no event after revocation"
        );
        assert_eq!(h.closed.first().map(|c| c.1), close, "{dialect:?}");
        assert_eq!(h.evicted, [(7, 1, slow)], "{dialect:?}");
        let frames = &h.socket(7).frames;
        if last.is_empty() {
            assert!(frames.is_empty());
        } else {
            assert_eq!(frames.last().unwrap()["type"], last);
            assert_eq!(frames.last().unwrap()["code"], CLOSE_REVOKED);
        }
    }
}

#[test]
fn revocation_while_a_catch_up_is_paid_out_stops_it() {
    let mut h = Harness::new("session:s1");
    h.facts.push(private_session("s1", "alice", &["bob"], 1));
    h.start();
    h.publish(1..=5);
    let one = h.log[&1].native().len() + 8;
    let slow = Budget {
        room_left: 2 * one,
        empty: false,
    };
    h.budgets.insert(7, slow);
    h.join_as(joiner(7, Some(0), user("bob")));
    assert_eq!(h.seqs(7), [1]);
    h.change_access(private_session("s1", "alice", &[], 2));
    if h.timers.contains(&Timer::Pay) {
        h.fire(Timer::Pay);
    }
    assert_eq!(h.seqs(7), [1], "what was owed is not sent");
    assert_eq!(h.evicted, [(7, 1, false)]);
}

#[test]
fn access_lost_before_the_snapshot_is_read_revokes() {
    let mut h = shared_session(3);
    h.join_as(joiner(7, None, user("bob")));
    // Revoked by a commit whose notification has not reached this room yet.
    h.facts = vec![private_session("s1", "alice", &[], 2)];
    h.serve_reads();
    let controls = h.socket(7).controls();
    assert_eq!(controls.len(), 1);
    assert_eq!(controls[0]["reason"], "revoked");
    assert_eq!(h.evicted, [(7, 1, false)]);
}

#[test]
fn a_refused_join_is_checked_again_against_the_database() {
    // (facts the re-check finds, whether carol gets in)
    let table = [
        (private_session("s1", "alice", &["carol"], 2), true),
        (private_session("s1", "alice", &[], 2), false),
    ];
    for (recheck_finds, admitted) in table {
        let mut h = shared_session(3);
        h.join_as(joiner(9, None, user("carol")));
        assert!(matches!(h.reads.front(), Some(Read::Recheck(_))));
        // A grant may have committed that this room has not heard of yet.
        h.facts = vec![recheck_finds];
        h.serve_reads();
        let controls = h.socket(9).controls();
        let first = controls[0]["type"].as_str();
        if admitted {
            assert_eq!(first, Some("subscribed"));
            assert!(h.evicted.is_empty());
        } else {
            assert_eq!(first, Some("error"));
            assert_eq!(controls[0]["code"], "forbidden");
            assert_eq!(h.evicted, [(9, 1, false)]);
            assert_eq!(h.forgotten, [9]);
        }
    }
}

#[test]
fn a_recheck_for_a_connection_that_left_joins_nobody() {
    let mut h = shared_session(3);
    h.join_as(joiner(9, None, user("carol")));
    h.leave(9);
    h.facts = vec![private_session("s1", "alice", &["carol"], 2)];
    h.serve_reads();
    assert!(h.socket(9).frames.is_empty());
    assert_eq!(h.state.subscribers(), 0);
}

#[test]
fn an_older_access_change_arriving_late_does_not_revoke() {
    let mut h = shared_session(0);
    h.join_as(joiner(7, None, user("bob")));
    h.serve_reads();
    // In commit order v2 removed bob and v3 added him back; v3 arrives first.
    h.change_access(private_session("s1", "alice", &["bob"], 3));
    h.change_access(private_session("s1", "alice", &[], 2));
    assert!(h.evicted.is_empty(), "the older facts are dropped");
    h.publish([1]);
    assert_eq!(h.seqs(7), [1]);
}

#[test]
fn a_project_room_redacts_what_a_subscriber_may_not_read() {
    let mut h = Harness::new("project:p1");
    h.facts.push(private_session("s1", "alice", &[], 1));
    h.start();
    h.join_as(joiner(1, None, user("alice")));
    h.join_as(joiner(2, None, user("bob")));
    h.serve_reads();
    let secret = h.delivery(1, "session", "s1");
    h.log.insert(1, secret);
    h.notify(&[1]);
    h.publish([2]);
    assert_eq!(h.seqs(1), [1, 2]);
    assert_eq!(h.seqs(2), [1, 2], "seqs stay contiguous");
    assert_eq!(h.socket(1).events()[0]["event_type"], "noted");
    assert_eq!(h.socket(2).events()[0]["event_type"], "redacted");
    assert!(h.socket(2).events()[0].get("payload").is_none());
}
