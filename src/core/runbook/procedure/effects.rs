//! Effects: what a step declares it does to the ensemble (starts, stops, views, partitions,
//! routes), which every prediction and the engine's view waits model.

use super::super::model::EffectSpec;
use super::{At, Context, Effect};
use crate::text::yaml::YamlError;

impl Context<'_> {
    pub(super) fn effect(&self, effect: &EffectSpec, at: &At) -> Result<Effect, YamlError> {
        Ok(match effect {
            EffectSpec::Start(hv) => Effect::Start {
                host: self.host(&hv.host, at)?,
                view: optional(&hv.view, |v| self.view(v, at))?,
            },
            EffectSpec::Restart(hv) => Effect::Restart {
                host: self.host(&hv.host, at)?,
                view: optional(&hv.view, |v| self.view(v, at))?,
            },
            EffectSpec::Stop(h) => Effect::Stop {
                host: self.host(&h.host, at)?,
            },
            EffectSpec::SetView(hv) => Effect::SetView {
                host: self.host(&hv.host, at)?,
                view: self.view(&hv.view, at)?,
            },
            EffectSpec::Reconfig(v) => Effect::Reconfig {
                view: self.view(&v.view, at)?,
            },
            EffectSpec::Partition(groups) => Effect::Partition(
                groups
                    .iter()
                    .map(|g| {
                        g.iter()
                            .map(|h| self.host(h, at))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            EffectSpec::Heal(_) => Effect::Heal,
            EffectSpec::Route(route) => Effect::Route {
                service: self.service(&route.service, at)?,
                to: optional(&route.to, |h| self.host(h, at))?,
            },
        })
    }
}

/// Looks up an optional name: absent stays absent, present must be found.
fn optional<T>(
    name: &Option<String>,
    find: impl FnOnce(&str) -> Result<T, YamlError>,
) -> Result<Option<T>, YamlError> {
    name.as_deref().map(find).transpose()
}
