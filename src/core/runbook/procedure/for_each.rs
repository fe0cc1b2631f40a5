//! `for-each`: the servers of a group in their order, and one repetition of a step per server
//! (with its paired spare when asked).

use super::super::model::{ForEach, Group, Order, StepSpec};
use super::{BoundHost, Context, LeaderLast, Source, Step};
use crate::text::yaml::YamlError;

/// The name a `for-each` step gives the server of each repetition.
pub(super) const EACH: &str = "each";

/// The name a `for-each` step with `spare: true` gives the spare paired with that server.
pub(super) const SPARE: &str = "spare";

/// The servers a `for-each` step repeats over, in its order: by what each server is in the
/// inventory (participant, observer) and which one leads when the runbook is bound.
pub(super) fn group_of(
    hosts: &[BoundHost],
    for_each: ForEach,
    leader: Option<usize>,
) -> Vec<usize> {
    use crate::inventory::HostRole;
    let role = |h: usize| hosts[h].inventory.role;
    let mut members: Vec<usize> = (0..hosts.len())
        .filter(|&h| match for_each.pick {
            Group::Followers => role(h) == HostRole::Participant && Some(h) != leader,
            Group::Observers => role(h) == HostRole::Observer,
            Group::Voters => role(h) == HostRole::Participant,
            Group::All => role(h) != HostRole::Spare,
        })
        .collect();
    match for_each.order {
        Order::BySid => members.sort_by_key(|&h| (hosts[h].inventory.sid, h)),
        Order::LeaderLast => leader_last(hosts, &mut members, leader),
    }
    members
}

/// Orders `members` (indices into `hosts`) as `order: leader-last` does: observers, then the
/// other voters, by server id, and `leader` last. The run orders its pending repetitions again
/// by this with the live leader (`Engine::follow_live_leader`), so that it and `plan --live`
/// show one order.
pub fn leader_last(hosts: &[BoundHost], members: &mut [usize], leader: Option<usize>) {
    use crate::inventory::HostRole;
    members.sort_by_key(|&h| {
        (
            Some(h) == leader,
            hosts[h].inventory.role != HostRole::Observer,
            hosts[h].inventory.sid,
            h,
        )
    });
}

impl Context<'_> {
    /// The step, or for a `for-each` step one repetition per server of its group.
    pub(super) fn steps(
        &self,
        spec: &StepSpec,
        source: &Source,
        leader: Option<usize>,
    ) -> Result<Vec<Step>, YamlError> {
        let Some(for_each) = spec.for_each else {
            return Ok(vec![self.step(spec, source)?]);
        };
        let group = group_of(self.hosts, for_each, leader);
        if group.is_empty() {
            return Err(source.error(
                &["for-each", "pick"],
                "no server of the inventory is in this group",
            ));
        }
        let mut values = self.values.clone();
        group
            .into_iter()
            .map(|each| {
                let name = self.hosts[each].inventory.name.clone();
                values.insert(EACH.to_string(), name.clone());
                let spare = match (for_each.spare, self.spares.get(&each)) {
                    (false, _) => None,
                    (true, Some(&spare)) => Some(spare),
                    (true, None) => {
                        use crate::inventory::HostRole;
                        let count = |wanted: bool| {
                            self.inventory
                                .hosts
                                .iter()
                                .filter(|h| (h.role == HostRole::Spare) == wanted)
                                .count()
                        };
                        return Err(source.error(
                            &["for-each", "spare"],
                            format!(
                                "`{name}` has no spare: inventory `{}` lists {} spares for {} servers (the k-th server in inventory order is paired with the k-th spare); add a spare host",
                                self.inventory.name,
                                count(true),
                                count(false)
                            ),
                        ));
                    }
                };
                let spare_name = spare.map(|s| self.hosts[s].inventory.name.clone());
                let context = Context {
                    each: Some(each),
                    spare,
                    values: &values,
                    ..*self
                };
                let mut step = context.step(spec, source)?;
                step.each = Some(each);
                if for_each.order == Order::LeaderLast {
                    step.leader_last = Some(LeaderLast {
                        group: step.id.clone(),
                        each,
                    });
                }
                step.id = format!("{}@{name}", step.id);
                step.title = if step.title.contains("${each}") {
                    step.title.replace("${each}", &name)
                } else {
                    format!("{} ({name})", step.title)
                };
                if let Some(spare_name) = spare_name {
                    step.title = step.title.replace("${spare}", &spare_name);
                }
                Ok(step)
            })
            .collect()
    }
}
