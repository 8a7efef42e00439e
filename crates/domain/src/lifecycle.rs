//! The entry lifecycle of SPEC §4: draft → submitted → published → retired, with returned (back for
//! amendment with the authority's comment). Editing a published entry opens a new draft version.

use crate::entry::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Edit,
    Submit,
    Publish,
    Return,
    Retire,
}

/// What an action does to the version it is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The version changes state in place.
    To(Status),
    /// The version stays as it is and a new draft version is opened (editing a published entry).
    NewDraftVersion,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("当前状态“{}”不允许此操作 (action not allowed in state {})", .from.label_zh(), .from.as_str())]
pub struct StateError {
    pub from: Status,
    pub action: Action,
}

/// draft/returned --Edit--> draft; draft/returned --Submit--> submitted; submitted --Publish--> published;
/// submitted --Return--> returned; published --Retire--> retired; published --Edit--> new draft version.
/// Everything else (including any action on retired or superseded versions) is a [`StateError`].
pub fn apply(from: Status, action: Action) -> Result<Transition, StateError> {
    use Action::*;
    use Status::*;
    match (from, action) {
        (Draft | Returned, Edit) => Ok(Transition::To(Draft)),
        (Draft | Returned, Submit) => Ok(Transition::To(Submitted)),
        (Submitted, Publish) => Ok(Transition::To(Published)),
        (Submitted, Return) => Ok(Transition::To(Returned)),
        (Published, Retire) => Ok(Transition::To(Retired)),
        (Published, Edit) => Ok(Transition::NewDraftVersion),
        _ => Err(StateError { from, action }),
    }
}

impl Action {
    pub const ALL: [Action; 5] = [Action::Edit, Action::Submit, Action::Publish, Action::Return, Action::Retire];

    /// The name used in paths and the audit log (`submit`, `publish`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Edit => "edit",
            Action::Submit => "submit",
            Action::Publish => "publish",
            Action::Return => "return",
            Action::Retire => "retire",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_STATUS: [Status; 6] =
        [Status::Draft, Status::Submitted, Status::Published, Status::Returned, Status::Retired, Status::Superseded];

    #[test]
    fn allowed_transitions() {
        assert_eq!(apply(Status::Draft, Action::Edit), Ok(Transition::To(Status::Draft)));
        assert_eq!(apply(Status::Returned, Action::Edit), Ok(Transition::To(Status::Draft)));
        assert_eq!(apply(Status::Draft, Action::Submit), Ok(Transition::To(Status::Submitted)));
        assert_eq!(apply(Status::Returned, Action::Submit), Ok(Transition::To(Status::Submitted)));
        assert_eq!(apply(Status::Submitted, Action::Publish), Ok(Transition::To(Status::Published)));
        assert_eq!(apply(Status::Submitted, Action::Return), Ok(Transition::To(Status::Returned)));
        assert_eq!(apply(Status::Published, Action::Retire), Ok(Transition::To(Status::Retired)));
        assert_eq!(apply(Status::Published, Action::Edit), Ok(Transition::NewDraftVersion));
    }

    #[test]
    fn everything_else_is_refused() {
        let mut allowed = 0;
        for from in ALL_STATUS {
            for action in Action::ALL {
                match apply(from, action) {
                    Ok(_) => allowed += 1,
                    Err(e) => {
                        assert_eq!(e, StateError { from, action });
                        assert!(e.to_string().contains(from.as_str()));
                        assert!(e.to_string().contains(from.label_zh()));
                    }
                }
            }
        }
        assert_eq!(allowed, 8);
        for action in Action::ALL {
            assert!(apply(Status::Retired, action).is_err());
            assert!(apply(Status::Superseded, action).is_err());
        }
        assert!(apply(Status::Draft, Action::Publish).is_err());
        assert!(apply(Status::Submitted, Action::Edit).is_err());
        assert!(apply(Status::Submitted, Action::Submit).is_err());
        assert!(apply(Status::Published, Action::Publish).is_err());
    }

    #[test]
    fn action_names() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        assert_eq!(Action::parse("delete"), None);
    }
}
