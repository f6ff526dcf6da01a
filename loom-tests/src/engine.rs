//! What the engines (loom, shuttle) tell only as panic text: why an
//! execution stopped. One classifier, with a test per engine message, so an
//! engine upgrade that rewords one fails here and not in a report.

/// Why loom or shuttle stopped an execution, read from its panic text.
/// The engines report these only as text; each wording is pinned by a test
/// below, so an engine upgrade that rewords one fails there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineStop {
    /// Every remaining thread is blocked (shuttle `deadlock! blocked
    /// tasks`, loom `deadlock; threads =`).
    Deadlock,
    /// The step or branch bound was hit (shuttle `exceeded max_steps
    /// bound`, loom `Model exceeded maximum number of branches`).
    StepBound,
    /// loom's causality check: two unordered accesses to a cell.
    DataRace(String),
    /// Anything else: a panic of ours that is not a model check.
    Other(String),
}

/// Classify an engine's panic message.
pub fn classify(text: &str) -> EngineStop {
    if text.starts_with("deadlock") {
        EngineStop::Deadlock
    } else if text.contains("exceeded max_steps bound")
        || text.contains("maximum number of branches")
    {
        EngineStop::StepBound
    } else if text.contains("Causality violation") {
        EngineStop::DataRace(text.trim().replace('\n', " | "))
    } else {
        EngineStop::Other(
            text.lines()
                .next()
                .unwrap_or("a model thread panicked")
                .to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuttle_deadlock() {
        assert_eq!(
            classify("deadlock! blocked tasks: [main-thread(TaskId(0)), <unknown>(TaskId(1))]"),
            EngineStop::Deadlock
        );
    }

    #[test]
    fn loom_deadlock() {
        assert_eq!(
            classify("deadlock; threads = [(Id(0), Blocked), (Id(1), Blocked)]"),
            EngineStop::Deadlock
        );
    }

    #[test]
    fn shuttle_step_bound() {
        assert_eq!(
            classify("exceeded max_steps bound 200000. this might be caused by an unfair schedule (e.g., a spin loop)?"),
            EngineStop::StepBound
        );
    }

    #[test]
    fn replay_at_its_recorded_length() {
        assert_eq!(
            classify(daxcheck_core::trace::REPLAY_LENGTH_STOP),
            EngineStop::StepBound
        );
    }

    #[test]
    fn loom_branch_bound() {
        assert_eq!(
            classify("Model exceeded maximum number of branches. This is often caused by an algorithm requiring the processor to make progress, e.g. spin locks."),
            EngineStop::StepBound
        );
    }

    #[test]
    fn loom_causality_violation() {
        assert_eq!(
            classify("Causality violation: Concurrent read and write accesses.\ncreated: x"),
            EngineStop::DataRace(
                "Causality violation: Concurrent read and write accesses. | created: x".into()
            )
        );
    }

    #[test]
    fn anything_else_is_ours() {
        assert_eq!(
            classify("index out of bounds\nmore"),
            EngineStop::Other("index out of bounds".into())
        );
    }
}
