//! The node's one listener connection: `LISTEN herald` on a connection of
//! its own (not from the pool), reconnected with backoff whenever it drops.
//! It tells the cluster actor when it is up (LISTEN done: time to reconcile)
//! and down, and hands over every notification.
//!
//! diesel's `PgConnection` can only hand over notifications that already
//! arrived, so it would have to be polled; `tokio-postgres` waits on the
//! socket, so a wake-up costs nothing until it comes and arrives at once.

use super::{Cluster, ListenerDown, ListenerUp, Notified};
use crate::db::cluster::CHANNEL;
use actix::Addr;
use futures::StreamExt;
use std::time::Duration;
use tokio_postgres::{AsyncMessage, NoTls};

/// First wait before reconnecting; doubled on each failure up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// Longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Listens until `cluster` stops. The connection is named
/// `herald-listener-<node>` (`application_name`), so operators (and tests)
/// can find it in `pg_stat_activity`.
pub async fn run(url: String, node: String, cluster: Addr<Cluster>) {
    let mut backoff = MIN_BACKOFF;
    while cluster.connected() {
        match listen_once(&url, &node, &cluster).await {
            Ok(()) => backoff = MIN_BACKOFF,
            Err(err) => {
                log::warn!("cluster listener: {err}");
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        cluster.do_send(ListenerDown);
        actix_web::rt::time::sleep(backoff).await;
    }
}

/// One connection: connect, LISTEN, report up, forward notifications until
/// the connection ends. `Ok` when it was up at least once.
async fn listen_once(url: &str, node: &str, cluster: &Addr<Cluster>) -> Result<(), String> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
    config
        .application_name(format!("herald-listener-{node}"))
        .connect_timeout(CONNECT_TIMEOUT);
    let (client, mut connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let (tx, mut rx) = futures::channel::mpsc::unbounded();
    let messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    actix_web::rt::spawn(messages.map(Ok).forward(tx));
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(|e| format!("LISTEN failed: {e}"))?;
    cluster.do_send(ListenerUp);
    log::info!("cluster listener up");
    while let Some(message) = rx.next().await {
        match message {
            Ok(AsyncMessage::Notification(n)) if n.channel() == CHANNEL => {
                cluster.do_send(Notified(n.payload().to_string()));
            }
            Ok(_) => {}
            Err(err) => {
                log::warn!("cluster listener lost: {err}");
                break;
            }
        }
        if !cluster.connected() {
            break;
        }
    }
    drop(client);
    Ok(())
}
