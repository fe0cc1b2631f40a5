//! `zkpilot lab elections` and `lab judge`: the analyzer held to real ZooKeeper. A
//! disagreement is a hazard (1); a trial that could not run, or an interruption, is 2.

use super::args::{ElectionsArgs, JudgeArgs, LabCommand};
use super::{Failure, Kind};
use crate::{rehearse::lab, text::escape};

pub async fn lab(command: LabCommand) -> Result<(), Failure> {
    match command {
        LabCommand::Elections(args) => elections(args).await,
        LabCommand::Judge(args) => judge(&args),
    }
}

fn judge(args: &JudgeArgs) -> Result<(), Failure> {
    let lab::Rejudged { tally, disagreeing } =
        lab::judge_records(&args.records).map_err(|e| Failure::bad_input(e.to_string()))?;
    for (path, missed) in &disagreeing {
        for text in missed {
            // Node names come from the record file: shown escaped, like analyze does.
            let line = format!("DISAGREEMENT {}: {text}", path.display());
            crate::say!("{}", escape::sanitize(&line));
        }
    }
    crate::say!("{}", tally.table());
    if disagreeing.is_empty() {
        Ok(())
    } else {
        Err(Failure::shown(Kind::Hazard))
    }
}

fn failure(error: lab::LabError) -> Failure {
    match error {
        lab::LabError::Invalid(message) => Failure::bad_input(message),
        lab::LabError::Sandbox(error) => Failure::from(error),
        other => Failure::environment(other.to_string()),
    }
}

async fn elections(args: ElectionsArgs) -> Result<(), Failure> {
    let options = lab::LabOptions {
        trials: args.trials,
        seed: args.seed,
        first: args.first,
        hosts: args.nodes,
        settle: std::time::Duration::from_secs(args.settle),
        dir: args.dir,
        keep_fixtures: args.keep_fixtures,
        research_split: args.research_split,
        netns: args.netns,
    };
    let mut stdout = std::io::stdout();
    let outcome = lab::elections(&options, &mut stdout)
        .await
        .map_err(failure)?;
    let all = outcome.tally.all;
    let wall = outcome.wall.as_secs_f64();
    crate::say!("\n{}", outcome.tally.table());
    if all.trials > 0 {
        crate::say!(
            "{} trial(s) judged in {wall:.0} s ({:.1} s per trial); seed {}",
            all.trials,
            wall / f64::from(all.trials),
            args.seed
        );
    }
    if all.disagreements > 0 {
        Err(Failure::shown(Kind::Hazard))
    } else if outcome.interrupted {
        Err(Failure::environment("interrupted before the last trial"))
    } else if outcome.tally.failed > 0 {
        Err(Failure::environment(
            "some trials could not run (see above)",
        ))
    } else {
        Ok(())
    }
}
