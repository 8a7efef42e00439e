//! The state machines of the sharing workflow: applications, grants, objections, demands.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("当前状态“{from}”不允许“{action}” (`{action}` is not allowed in state `{from}`)")]
pub struct StateError {
    pub from: &'static str,
    pub action: &'static str,
}

macro_rules! states {
    ($name:ident { $($variant:ident = $s:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

states!(AppStatus { Submitted = "submitted", Approved = "approved", Refused = "refused", Returned = "returned", Disputed = "disputed" });
states!(GrantStatus { Active = "active", Suspended = "suspended", Revoked = "revoked", Expired = "expired" });
states!(ObjectionStatus { Submitted = "submitted", Confirmed = "confirmed", Rejected = "rejected" });
states!(DemandStatus { Submitted = "submitted", Routed = "routed", Answered = "answered", Declined = "declined" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppAction {
    Approve,
    Refuse,
    Return,
    Dispute,
    CoordinateApprove,
    CoordinateRefuse,
}

impl AppAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AppAction::Approve => "approve",
            AppAction::Refuse => "refuse",
            AppAction::Return => "return",
            AppAction::Dispute => "dispute",
            AppAction::CoordinateApprove | AppAction::CoordinateRefuse => "coordinate",
        }
    }
}

/// submitted → approved | refused | returned; refused (not final) → disputed; disputed → approved | refused
/// (final). A final decision admits nothing more.
pub fn application_next(from: AppStatus, is_final: bool, action: AppAction) -> Result<AppStatus, StateError> {
    use AppAction as A;
    use AppStatus as S;
    let err = StateError {
        from: if is_final && from == S::Refused { "refused (final)" } else { from.as_str() },
        action: action.as_str(),
    };
    match (from, action) {
        (S::Submitted, A::Approve) => Ok(S::Approved),
        (S::Submitted, A::Refuse) => Ok(S::Refused),
        (S::Submitted, A::Return) => Ok(S::Returned),
        (S::Refused, A::Dispute) if !is_final => Ok(S::Disputed),
        (S::Disputed, A::CoordinateApprove) => Ok(S::Approved),
        (S::Disputed, A::CoordinateRefuse) => Ok(S::Refused),
        _ => Err(err),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantAction {
    Suspend,
    Resume,
    Revoke,
    Expire,
}

impl GrantAction {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantAction::Suspend => "suspend",
            GrantAction::Resume => "resume",
            GrantAction::Revoke => "revoke",
            GrantAction::Expire => "expire",
        }
    }
}

/// active → suspended → active; active | suspended → revoked | expired. Revoked and expired are final.
pub fn grant_next(from: GrantStatus, action: GrantAction) -> Result<GrantStatus, StateError> {
    use GrantAction as A;
    use GrantStatus as S;
    match (from, action) {
        (S::Active, A::Suspend) => Ok(S::Suspended),
        (S::Suspended, A::Resume) => Ok(S::Active),
        (S::Active | S::Suspended, A::Revoke) => Ok(S::Revoked),
        (S::Active | S::Suspended, A::Expire) => Ok(S::Expired),
        _ => Err(StateError { from: from.as_str(), action: action.as_str() }),
    }
}

/// submitted → confirmed (`confirm: true`) | rejected.
pub fn objection_next(from: ObjectionStatus, confirm: bool) -> Result<ObjectionStatus, StateError> {
    match from {
        ObjectionStatus::Submitted if confirm => Ok(ObjectionStatus::Confirmed),
        ObjectionStatus::Submitted => Ok(ObjectionStatus::Rejected),
        _ => Err(StateError { from: from.as_str(), action: if confirm { "confirm" } else { "reject" } }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandAction {
    Route,
    Answer,
    Decline,
}

/// submitted → routed → answered | declined.
pub fn demand_next(from: DemandStatus, action: DemandAction) -> Result<DemandStatus, StateError> {
    use DemandAction as A;
    use DemandStatus as S;
    match (from, action) {
        (S::Submitted, A::Route) => Ok(S::Routed),
        (S::Routed, A::Answer) => Ok(S::Answered),
        (S::Routed, A::Decline) => Ok(S::Declined),
        _ => Err(StateError {
            from: from.as_str(),
            action: match action {
                A::Route => "route",
                A::Answer | A::Decline => "answer",
            },
        }),
    }
}
