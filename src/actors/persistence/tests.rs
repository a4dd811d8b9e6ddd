use super::*;
use crate::domain::rooms::Publish;
use crate::types::RoomName;

fn batch(events: usize, payload: &str) -> Job {
    let item = Publish {
        room: RoomName::parse("a").expect("a room"),
        event_type: "t".into(),
        payload: serde_json::value::RawValue::from_string(payload.into()).expect("JSON"),
        priority: false,
    };
    let (reply, _) = oneshot::channel();
    Job::Run(Box::new(Pending {
        command: Command::PublishBatch(vec![item; events]),
        ctx: CommandCtx::default(),
        reply,
        tries: 0,
    }))
}

#[test]
fn a_group_is_bounded_by_its_events_and_payload_bytes_not_only_commands() {
    let queue: Vec<Job> = (0..25).map(|_| batch(1000, "{}")).collect();
    let (runs, _, rest) = take_group(queue);
    assert_eq!((runs.len(), rest.len()), (20, 5));
    let (runs, _, rest) = take_group(rest);
    assert_eq!((runs.len(), rest.len()), (5, 0));

    let big = format!("{{\"p\":\"{}\"}}", "x".repeat(40 * 1024 * 1024));
    let queue = vec![batch(1, &big), batch(1, &big), batch(1, "{}")];
    let (runs, _, rest) = take_group(queue);
    assert_eq!((runs.len(), rest.len()), (1, 2), "bytes cut the group");
    let (runs, drained, rest) = take_group(rest);
    assert_eq!((runs.len(), drained.len(), rest.len()), (2, 0, 0));
}

#[test]
fn drains_queued_among_the_commands_go_with_their_group() {
    let (done, _) = oneshot::channel();
    let queue = vec![batch(1, "{}"), Job::Drain(done), batch(1, "{}")];
    let (runs, drained, rest) = take_group(queue);
    assert_eq!((runs.len(), drained.len(), rest.len()), (2, 1, 0));
}
