//! Who may do what (DESIGN §5, §8): the caller's identity, session roles, and
//! the rules every write, read and delivery path checks. Pure functions: the
//! callers bring the facts (a session's owner, visibility and collaborators,
//! as of a committed event), so the rules are tested without a database.

use crate::types::RoomKind;
use crate::validate::text_enum;
use std::sync::Arc;

/// Who is asking: a user, the admin token, or everyone when auth is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's id; `None` for the admin token and the local admin.
    pub user_id: Option<String>,
    /// The user's email, lower case; collaborators are matched by it.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// `auth.admin_token`, a user created with `admin: true`, or anyone
    /// while `auth.required` is false.
    pub admin: bool,
    /// The hash of the user's token it was resolved from: a node that may
    /// have missed a token's end checks its sockets' tokens by it.
    pub token_hash: Option<String>,
}

impl Identity {
    /// Everyone, while `auth.required` is false.
    pub fn local_admin() -> Arc<Identity> {
        Arc::new(Identity {
            user_id: None,
            email: None,
            name: Some("local".into()),
            admin: true,
            token_hash: None,
        })
    }

    /// The holder of `auth.admin_token`.
    pub fn admin_token() -> Arc<Identity> {
        Arc::new(Identity {
            user_id: None,
            email: None,
            name: Some("admin".into()),
            admin: true,
            token_hash: None,
        })
    }

    /// What per-caller limits are counted under.
    pub fn key(&self) -> &str {
        self.user_id.as_deref().unwrap_or("admin")
    }
}

text_enum! {
    /// A collaborator's role.
    ///
    /// Its order ([`Role::rank`]) is the order of rights.
    pub enum Role as "role" in "CollaboratorRole" {
        /// Reads, writes and manages collaborators and visibility.
        Owner = "owner",
        /// Reads and writes.
        Editor = "editor",
        /// Reads.
        Viewer = "viewer",
    }
}

impl Role {
    /// More rights, higher rank.
    fn rank(self) -> u8 {
        match self {
            Role::Viewer => 0,
            Role::Editor => 1,
            Role::Owner => 2,
        }
    }
}

impl PartialOrd for Role {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Role {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

/// What decides access to one session, as of one committed event. Travels
/// with the commit to this node's rooms and, serialised, to other nodes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionAccess {
    /// The session.
    pub session_id: String,
    /// Its project (whose room also carries its events).
    pub project_id: String,
    /// The user who created it.
    pub owner_id: Option<String>,
    /// `visibility == "public"`.
    pub public: bool,
    /// Collaborators' emails (lower case) and roles; invited ones count.
    pub collaborators: Vec<(String, Role)>,
    /// False once the session was deleted: its last readers still read its
    /// events (its deletion among them); nobody writes to it.
    pub exists: bool,
    /// The session's access version as of which this holds (0: none yet).
    /// Every change of who may read the session takes the next one, under
    /// the session's row lock and in the change's transaction, so versions
    /// follow commit order on every node; a newer version replaces an older
    /// one ([`SessionAccess::supersedes`]).
    pub version: i64,
}

impl SessionAccess {
    /// The facts of a session that is gone (or never was) as of `version`:
    /// only admins pass them.
    pub fn gone(session_id: &str, project_id: &str, version: i64) -> SessionAccess {
        SessionAccess {
            session_id: session_id.to_string(),
            project_id: project_id.to_string(),
            owner_id: None,
            public: false,
            collaborators: Vec::new(),
            exists: false,
            version,
        }
    }

    /// Whether these facts replace `known` (of the same session): they are
    /// as new or newer. Equal versions hold the same committed state, except
    /// that a tombstone read later (only admins pass) replaces the last
    /// readers a deletion carried; both are correct for that version.
    pub fn supersedes(&self, known: &SessionAccess) -> bool {
        self.version >= known.version
    }

    /// The caller's role: `Owner` for the session's owner, else its
    /// collaborator role, else none.
    pub fn role(&self, who: &Identity) -> Option<Role> {
        if who.user_id.is_some() && self.owner_id == who.user_id {
            return Some(Role::Owner);
        }
        let email = who.email.as_deref()?;
        self.collaborators
            .iter()
            .find(|(e, _)| e == email)
            .map(|(_, role)| *role)
    }

    /// Public sessions, their owner, collaborators and admins.
    pub fn can_read(&self, who: &Identity) -> bool {
        who.admin || self.public || self.role(who).is_some()
    }

    /// Editors and above, and admins.
    pub fn can_write(&self, who: &Identity) -> bool {
        who.admin || (self.exists && self.role(who) >= Some(Role::Editor))
    }

    /// The owner, collaborators with role `owner`, and admins.
    pub fn can_manage(&self, who: &Identity) -> bool {
        who.admin || (self.exists && self.role(who) == Some(Role::Owner))
    }
}

/// May `who` subscribe to (or read the events of) a room? `session` is the
/// session's access for a session room; `None` there means the session does
/// not exist (yet): anyone authenticated may wait for it. Project rooms are
/// open, filtered event by event; `broadcasts` and free rooms are open.
pub fn may_read_room(who: &Identity, kind: RoomKind<'_>, session: Option<&SessionAccess>) -> bool {
    match (kind, session) {
        (RoomKind::Session(_), Some(access)) => access.can_read(who),
        _ => true,
    }
}

/// May `who` publish to a room through the generic route? Session rooms
/// need write access to the session; every other room needs admin.
pub fn may_publish(who: &Identity, kind: RoomKind<'_>, session: Option<&SessionAccess>) -> bool {
    match (kind, session) {
        (RoomKind::Session(_), Some(access)) => access.can_write(who),
        _ => who.admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, email: &str) -> Identity {
        Identity {
            user_id: Some(id.into()),
            email: Some(email.into()),
            name: None,
            admin: false,
            token_hash: None,
        }
    }

    fn session(public: bool) -> SessionAccess {
        SessionAccess {
            session_id: "s".into(),
            project_id: "p".into(),
            owner_id: Some("u-owner".into()),
            public,
            collaborators: vec![
                ("ed@x.io".into(), Role::Editor),
                ("vi@x.io".into(), Role::Viewer),
                ("co@x.io".into(), Role::Owner),
            ],
            exists: true,
            version: 1,
        }
    }

    #[test]
    fn roles_decide_read_write_manage() {
        let s = session(false);
        let owner = user("u-owner", "o@x.io");
        let co = user("u-co", "co@x.io");
        let editor = user("u-ed", "ed@x.io");
        let viewer = user("u-vi", "vi@x.io");
        let stranger = user("u-st", "st@x.io");
        let admin = Identity::admin_token();
        // (who, read, write, manage)
        let table = [
            (&owner, true, true, true),
            (&co, true, true, true),
            (&editor, true, true, false),
            (&viewer, true, false, false),
            (&stranger, false, false, false),
            (&*admin, true, true, true),
        ];
        for (who, read, write, manage) in table {
            assert_eq!(s.can_read(who), read, "{who:?} read");
            assert_eq!(s.can_write(who), write, "{who:?} write");
            assert_eq!(s.can_manage(who), manage, "{who:?} manage");
        }
        // Public: everyone reads, nobody new writes.
        let p = session(true);
        assert!(p.can_read(&stranger) && !p.can_write(&stranger));
    }

    #[test]
    fn deleted_sessions_keep_their_readers_and_take_no_writes() {
        let mut s = session(false);
        s.exists = false;
        let owner = user("u-owner", "o@x.io");
        assert!(s.can_read(&owner) && !s.can_write(&owner) && !s.can_manage(&owner));
        assert!(!s.can_read(&user("u-st", "st@x.io")));
        assert!(s.can_write(&Identity::local_admin()));
    }

    #[test]
    fn newer_access_versions_replace_older_ones_and_never_the_reverse() {
        let older = session(false);
        let mut newer = session(true);
        newer.version = older.version + 1;
        assert!(newer.supersedes(&older));
        assert!(!older.supersedes(&newer));
        // The same version read twice (a snapshot and a commit) is the same state.
        assert!(older.supersedes(&older.clone()));
        // Versions are per session, not event ids: a fact with a smaller
        // event id but a later commit still wins by its version.
        let mut gone = SessionAccess::gone("s", "p", newer.version + 1);
        assert!(gone.supersedes(&newer));
        gone.version = 0;
        assert!(!gone.supersedes(&newer));
    }

    #[test]
    fn an_identity_without_a_user_is_nobody_s_owner() {
        let mut s = session(false);
        s.owner_id = None;
        let anonymous = Identity {
            user_id: None,
            email: None,
            name: None,
            admin: false,
            token_hash: None,
        };
        assert_eq!(s.role(&anonymous), None);
    }

    #[test]
    fn rooms() {
        let s = session(false);
        let stranger = user("u-st", "st@x.io");
        assert!(!may_read_room(&stranger, RoomKind::Session("s"), Some(&s)));
        assert!(may_read_room(&stranger, RoomKind::Session("s"), None));
        assert!(may_read_room(&stranger, RoomKind::Project("p"), None));
        assert!(!may_publish(&stranger, RoomKind::Free, None));
        assert!(may_publish(
            &user("u-ed", "ed@x.io"),
            RoomKind::Session("s"),
            Some(&s)
        ));
        assert!(!may_publish(
            &user("u-ed", "ed@x.io"),
            RoomKind::Broadcasts,
            None
        ));
    }
}
