//! One card per node: identity, role, zxid and lag, latency, load, sync, poll age, error; or,
//! when the cards do not fit, one row per node with what matters most (as `htop` keeps a
//! process to a line).

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::text::{age, columns, head_within, sanitize, sparkline};
use super::Look;
use crate::console::watch::{cards_per_row, overdue, WatchState};
use crate::ensemble::{AdminRoute, Health, NodeState, Source, Support, ViewSource};
use crate::view::theme::Role;
use crate::zk::fourlw::Mode;
use crate::zk::zxid::ZxidLag;

pub(crate) use crate::console::watch::{CARD_HEIGHT, CARD_WIDTH};

/// One row per node: name, role, zxid, lag and whether its config view agrees. `marked` are
/// the nodes that matter now (the selected one, those the current step acts on): they get a
/// mark and, when not every node fits, a row before the others; the last row then says how
/// many are left out and which.
pub fn draw_rows(frame: &mut Frame, area: Rect, state: &WatchState, marked: &[usize], look: &Look) {
    let nodes = &state.ensemble.nodes;
    let rows = usize::from(area.height);
    if rows == 0 || nodes.is_empty() {
        return;
    }
    let shown: Vec<usize> = if nodes.len() <= rows {
        (0..nodes.len()).collect()
    } else {
        let mut order: Vec<usize> = (0..nodes.len()).collect();
        // What the operator acts on first, then the leader, then nodes that serve, then the
        // rest (spares not started yet), each in the inventory's order.
        let leader = state.ensemble.leader();
        order.sort_by_key(|&i| {
            (
                !marked.contains(&i),
                leader != Some(i),
                nodes[i].health.mode().is_none(),
                i,
            )
        });
        order.truncate(rows - 1);
        order.sort_unstable();
        order
    };
    let name_width = nodes
        .iter()
        .map(|n| columns(&sanitize(&n.target.name)))
        .max()
        .unwrap_or(0)
        .min(16);
    let role_width = nodes
        .iter()
        .map(|n| columns(n.health.label()))
        .max()
        .unwrap_or(0)
        .min(16);
    let disagree = state.ensemble.disagreeing_views();
    let mut lines: Vec<Line> = shown
        .iter()
        .map(|&index| {
            let row = Row {
                index,
                marked: marked.contains(&index),
                differs: disagree.get(index).copied().unwrap_or(false),
                name_width,
                role_width,
                hex: area.width >= 100,
            };
            node_row(state, row, look)
        })
        .collect();
    if shown.len() < nodes.len() {
        let left_out: Vec<String> = (0..nodes.len())
            .filter(|i| !shown.contains(i))
            .map(|i| sanitize(&nodes[i].target.name))
            .collect();
        lines.push(Line::from(Span::styled(
            format!("  +{} more: {}", left_out.len(), left_out.join(" ")),
            look.style(Role::Muted),
        )));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// How one node's row is drawn.
struct Row {
    index: usize,
    marked: bool,
    differs: bool,
    name_width: usize,
    role_width: usize,
    /// Room for the zxid in hexadecimal as well.
    hex: bool,
}

fn node_row<'a>(state: &WatchState, row: Row, look: &Look) -> Line<'a> {
    let ensemble = &state.ensemble;
    let node = &ensemble.nodes[row.index];
    let (label, role) = role_label(&node.health);
    let mut name_style = look.style(Role::Text);
    let mut role_style = look.style(role).add_modifier(Modifier::BOLD);
    if row.marked {
        name_style = name_style.patch(look.style(Role::Selected));
        role_style = role_style.patch(look.style(Role::Selected));
    }
    let zxid = node.zxid().map_or_else(
        || "-".to_string(),
        |z| {
            if row.hex {
                format!("{} ({z})", z.epoch_counter())
            } else {
                z.epoch_counter().to_string()
            }
        },
    );
    let leader = ensemble.leader();
    // The row says as much as the card: answers older than the node's cadence explains are not
    // the ensemble as it is now, and in place of a lag worked out from them the row says how
    // old they are (it read exactly like a live one).
    let lag = match overdue(node, state.now, state.interval) {
        Some(ms) => Span::styled(
            format!("{} {} old", look.symbols.warn, age(ms)),
            look.style(Role::Warning),
        ),
        None => lag_span(
            LagFacts {
                is_leader: leader == Some(row.index),
                serving: node.health.mode().is_some(),
                lag: ensemble.lag(row.index),
                no_writes_this_epoch: leader
                    .and_then(|l| ensemble.nodes[l].zxid())
                    .is_some_and(|z| z.counter() == 0),
            },
            look,
        ),
    };
    let lag_width = columns(&lag.content);
    let view = match (&node.view, row.differs) {
        (None, _) => Span::styled("  view ?", look.style(Role::Muted)),
        (Some(_), true) => Span::styled(
            format!("  {} view differs", look.symbols.warn),
            look.style(Role::Danger),
        ),
        (Some(_), false) => Span::styled(
            format!("  {} view agrees", look.symbols.ok),
            look.style(Role::Ok),
        ),
    };
    Line::from(vec![
        Span::styled(
            format!("{:<2}", if row.marked { look.symbols.pointer } else { "" }),
            look.style(Role::Accent),
        ),
        Span::styled(
            format!("{:<w$} ", sanitize(&node.target.name), w = row.name_width),
            name_style,
        ),
        Span::styled(format!("{label:<w$}", w = row.role_width), role_style),
        Span::styled(format!("  zxid {zxid:<9} "), look.style(Role::Text)),
        lag,
        Span::raw(" ".repeat(22usize.saturating_sub(lag_width))),
        view,
    ])
}

/// Draws the cards that fit, scrolled so the selected one shows, and the idle spares on the
/// area's last line.
pub fn draw_cards(frame: &mut Frame, area: Rect, state: &WatchState, look: &Look) {
    let idle = state.idle_spares();
    let mut area = area;
    let carded = state.carded();
    let columns = cards_per_row(area.width);
    if !idle.is_empty() && area.height > 0 {
        area.height -= 1;
        // Right under the last row of cards, not at the foot of a tall area.
        let rows = u16::try_from(carded.len().div_ceil(columns)).unwrap_or(u16::MAX);
        let y = area.y + rows.saturating_mul(CARD_HEIGHT).min(area.height);
        let line = Rect::new(area.x, y, area.width, 1);
        frame.render_widget(Paragraph::new(spares_line(state, &idle, look)), line);
    }
    let rows_visible = usize::from((area.height / CARD_HEIGHT).max(1));
    // A selected idle spare is on the spares' line: the cards keep the last row in view.
    let selected_at = carded
        .iter()
        .position(|&i| i == state.selected)
        .unwrap_or(carded.len().saturating_sub(1));
    let first_row = (selected_at / columns).saturating_sub(rows_visible - 1);
    let width = area.width / u16::try_from(columns).unwrap_or(1);
    for (at, &index) in carded.iter().enumerate() {
        let row = at / columns;
        if row < first_row || row >= first_row + rows_visible {
            continue;
        }
        let x = area.x + width * u16::try_from(at % columns).unwrap_or(0);
        let y = area.y + CARD_HEIGHT * u16::try_from(row - first_row).unwrap_or(0);
        let card = Rect::new(x, y, width, CARD_HEIGHT).intersection(area);
        draw_card(
            frame,
            card,
            state,
            index,
            &state.ensemble.nodes[index],
            look,
        );
    }
    let hidden = carded
        .len()
        .saturating_sub((first_row + rows_visible) * columns);
    if first_row > 0 || hidden > 0 {
        let note = format!(" {} more above, {hidden} below ", first_row * columns);
        corner_note(frame, area, note, look);
    }
}

/// ` spares not started: zk4 zk5 DOWN (refused)`: the names of spares in the same state,
/// then the state; the selected one in the colour of a selected card's title.
fn spares_line<'a>(state: &WatchState, idle: &[usize], look: &Look) -> Line<'a> {
    let mut spans = vec![Span::styled(
        " spares not started:".to_string(),
        look.style(Role::Muted),
    )];
    let nodes = &state.ensemble.nodes;
    let mut labels: Vec<&str> = Vec::new();
    for &i in idle {
        if !labels.contains(&nodes[i].health.label()) {
            labels.push(nodes[i].health.label());
        }
    }
    for (n, label) in labels.iter().enumerate() {
        if n > 0 {
            spans.push(Span::styled(
                format!(" {}", look.symbols.dot),
                look.style(Role::Muted),
            ));
        }
        for &index in idle.iter().filter(|&&i| nodes[i].health.label() == *label) {
            let role = if index == state.selected {
                Role::Accent
            } else {
                Role::Text
            };
            spans.push(Span::styled(
                format!(" {}", sanitize(&nodes[index].target.name)),
                look.style(role),
            ));
        }
        spans.push(Span::styled(format!(" {label}"), look.style(Role::Muted)));
    }
    Line::from(spans)
}

fn draw_card(
    frame: &mut Frame,
    area: Rect,
    state: &WatchState,
    index: usize,
    node: &NodeState,
    look: &Look,
) {
    let selected = index == state.selected;
    let sid = node
        .sid()
        .map_or_else(|| "?".to_string(), |s| s.to_string());
    let inner = usize::from(area.width.saturating_sub(2));
    let dot = look.symbols.dot;
    let (name, client) = (sanitize(&node.target.name), sanitize(&node.target.client));
    // A hand-built ensemble's long names and addresses must not be cut: the address goes
    // first (the details show it), then the name is shortened.
    let title = first_fitting(
        &[
            format!(" {name} {dot} sid {sid} {dot} {client} "),
            format!(" {name} {dot} sid {sid} "),
        ],
        inner,
    );
    let mut border = look.style(Role::Border);
    if selected {
        border = look.style(Role::Accent);
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(
            title,
            look.style(if selected { Role::Accent } else { Role::Title }),
        ));
    let (label, role) = role_label(&node.health);
    let mut role_style = look.style(role).add_modifier(Modifier::BOLD);
    if selected {
        role_style = role_style.patch(look.style(Role::Selected));
    }
    let muted = look.style(Role::Muted);
    let text = look.style(Role::Text);
    let field = |name: &'static str| Span::styled(format!("{name:<8}"), muted);

    let zxid = node.zxid().map_or_else(
        || "-".to_string(),
        |z| format!("{}  ({z})", z.epoch_counter()),
    );
    let mut lines = vec![Line::from(vec![
        Span::styled(format!(" {label} "), role_style),
        Span::styled(format!("  zxid {zxid}"), text),
    ])];
    let ensemble = &state.ensemble;
    let leader = ensemble.leader();
    let lag = lag_span(
        LagFacts {
            is_leader: leader == Some(index),
            serving: node.health.mode().is_some(),
            lag: ensemble.lag(index),
            no_writes_this_epoch: leader
                .and_then(|l| ensemble.nodes[l].zxid())
                .is_some_and(|z| z.counter() == 0),
        },
        look,
    );
    lines.push(Line::from(vec![field("lag"), lag]));
    if let Some(srvr) = &node.srvr {
        let l = &srvr.latency;
        lines.push(Line::from(vec![
            field("latency"),
            Span::styled(format!("{}/{}/{} ms ", l.min, l.avg, l.max), text),
            Span::styled(
                sparkline(node.round_trips.iter().copied(), &look.symbols),
                look.style(Role::Accent),
            ),
        ]));
        lines.push(Line::from(vec![
            field("load"),
            Span::styled(
                format!(
                    "out {}  conns {}  znodes {}",
                    srvr.outstanding,
                    srvr.connections.map_or("-".into(), |c| c.to_string()),
                    srvr.node_count
                ),
                text,
            ),
        ]));
    } else {
        lines.push(Line::from(vec![field("latency"), Span::styled("-", muted)]));
        lines.push(Line::from(vec![field("load"), Span::styled("-", muted)]));
    }
    let by_zxid = ensemble
        .sync_by_zxid()
        .then(|| ensemble.synced_by_zxid(index));
    lines.push(sync_line(node, by_zxid, look));
    let polled = match (
        overdue(node, state.now, state.interval),
        node.age(state.now),
        &node.health,
    ) {
        (Some(ms), _, _) => Span::styled(
            format!("last good poll {} ago{}", age(ms), sources(node)),
            look.style(Role::Warning),
        ),
        (None, Some(_), _) if node.linked => {
            Span::styled(format!("session open{}", sources(node)), muted)
        }
        (None, Some(_), _) => Span::styled(
            format!(
                "every {}{}",
                crate::text::duration::show(std::time::Duration::from_millis(state.interval)),
                sources(node)
            ),
            muted,
        ),
        (None, None, Health::Unknown) => Span::styled("not polled yet", muted),
        (None, None, _) => Span::styled("never answered", look.style(Role::Warning)),
    };
    let polled = fit_routes(polled, node, inner.saturating_sub(8));
    lines.push(Line::from(vec![field("polled"), polled]));
    if let Some(error) = &node.error {
        lines.push(Line::from(Span::styled(
            sanitize(error),
            look.style(Role::Down),
        )));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// Where the card's figures came from, when not all from four-letter words: ` via`
/// the routes of `srvr`, `mntr` and the view in that order (4lw, admin, ssh).
fn sources(node: &NodeState) -> String {
    let view = node.view.as_ref().map(|v| match v.source {
        ViewSource::Conf => "4lw",
        ViewSource::AdminVoters => "admin",
        ViewSource::ZooCfg => "ssh",
        ViewSource::Declared => "decl",
    });
    let routes = [
        node.srvr_source.map(Source::label),
        node.mntr_source.map(Source::label),
        view,
    ];
    if routes.iter().flatten().all(|r| *r == "4lw") {
        return String::new();
    }
    let words: Vec<&str> = routes.iter().map(|r| r.unwrap_or("-")).collect();
    format!(" via {}", words.join("/"))
}

/// The first of `candidates` that fits `width` columns, else the last cut to fit with an
/// ellipsis.
fn first_fitting(candidates: &[String], width: usize) -> String {
    if let Some(fits) = candidates.iter().find(|c| columns(c) <= width) {
        return fits.clone();
    }
    let last = candidates.last().map_or("", String::as_str);
    format!("{}… ", head_within(last, width, 2))
}

/// The polled line within `width` columns: with its routes in full (` via admin/admin/ssh`),
/// else one word when every route is the same, else their initials, else without them.
fn fit_routes<'a>(polled: Span<'a>, node: &NodeState, width: usize) -> Span<'a> {
    let full = sources(node);
    let text = polled.content.to_string();
    let Some(main) = text.strip_suffix(&full).filter(|_| !full.is_empty()) else {
        return polled;
    };
    let words: Vec<&str> = full.trim_start_matches(" via ").split('/').collect();
    let short = if words.iter().all(|w| *w == words[0]) {
        format!(" via {}", words[0])
    } else {
        let initials: Vec<&str> = words.iter().map(|w| w.get(..1).unwrap_or("-")).collect();
        format!(" via {}", initials.join("/"))
    };
    let fitted = first_fitting(
        &[text.clone(), format!("{main}{short}"), main.to_string()],
        width,
    );
    Span::styled(fitted, polled.style)
}

/// The role as the operator reads it, and the theme role that colours it.
pub fn role_label(health: &Health) -> (String, Role) {
    let role = match health {
        Health::Unknown => Role::Muted,
        Health::Serving(Mode::Leader) => Role::Leader,
        Health::Serving(Mode::Follower) => Role::Follower,
        Health::Serving(Mode::Observer) => Role::Observer,
        Health::Serving(Mode::Standalone) => Role::Standalone,
        Health::Serving(Mode::ReadOnly) | Health::NotServing => Role::Looking,
        Health::Unparsable(_) => Role::Warning,
        Health::Down(_) => Role::Down,
    };
    (health.label().to_string(), role)
}

/// What the lag line of a card is drawn from, live or recorded.
pub struct LagFacts {
    pub is_leader: bool,
    pub serving: bool,
    pub lag: Option<ZxidLag>,
    /// The leader's zxid counter is 0: nothing was written since the last election.
    pub no_writes_this_epoch: bool,
}

pub fn lag_span<'a>(facts: LagFacts, look: &Look) -> Span<'a> {
    if facts.is_leader {
        return Span::styled("— (leader)", look.style(Role::Muted));
    }
    if !facts.serving {
        return Span::styled("- (not serving)", look.style(Role::Muted));
    }
    // A learner reports the last zxid it applied, so right after an election with no write
    // since, it still shows the old epoch although it is in sync.
    match facts.lag {
        Some(ZxidLag::OlderEpoch { .. }) if facts.no_writes_this_epoch => Span::styled(
            format!("{} caught up (no writes yet)", look.symbols.ok),
            look.style(Role::Ok),
        ),
        None => Span::styled("-", look.style(Role::Muted)),
        Some(ZxidLag::Transactions(0)) => Span::styled(
            format!("{} caught up", look.symbols.ok),
            look.style(Role::Ok),
        ),
        Some(ZxidLag::Transactions(n)) => {
            Span::styled(format!("{n} txns behind"), look.style(Role::Warning))
        }
        Some(ZxidLag::OlderEpoch { epochs }) => Span::styled(
            format!("{epochs} epoch(s) behind: not synced"),
            look.style(Role::Warning),
        ),
        Some(ZxidLag::Ahead) => Span::styled(
            "ahead of the leader (stale leader?)",
            look.style(Role::Danger),
        ),
    }
}

/// `by_zxid`: when the leader's `mntr` is reachable by no route, whether this node showed
/// itself caught up by zxid.
fn sync_line<'a>(node: &NodeState, by_zxid: Option<bool>, look: &Look) -> Line<'a> {
    let muted = look.style(Role::Muted);
    let label = Span::styled(format!("{:<8}", "sync"), muted);
    if node.health.mode().is_none() {
        return Line::from(vec![label, Span::styled("-", muted)]);
    }
    if let Some(synced) = by_zxid {
        let (text, role) = if synced {
            ("synced (by zxid)", Role::Ok)
        } else {
            ("not yet synced (by zxid)", Role::Warning)
        };
        return Line::from(vec![label, Span::styled(text, look.style(role))]);
    }
    // The 4lw whitelist refusal is the server's own word; whether srvr is all there is depends
    // on the AdminServer, which comes back after a restart (`ensemble::AdminRoute::Silent`).
    if node.routes.mntr == Support::NotWhitelisted && node.mntr_source != Some(Source::Admin) {
        let text = match node.routes.admin {
            AdminRoute::Answers => None,
            AdminRoute::Silent { .. } => Some("mntr: admin silent, retrying"),
            AdminRoute::Probing | AdminRoute::Missed { .. } | AdminRoute::Absent => {
                Some("mntr not whitelisted: srvr only")
            }
        };
        if let Some(text) = text {
            return Line::from(vec![label, Span::styled(text, look.style(Role::Warning))]);
        }
    }
    let Some(mntr) = node
        .mntr
        .as_ref()
        .filter(|_| node.health.mode() == Some(Mode::Leader))
    else {
        let state = node
            .mntr
            .as_ref()
            .and_then(|m| m.get("zk_peer_state"))
            .unwrap_or("-");
        return Line::from(vec![
            label,
            Span::styled(sanitize(state), look.style(Role::Text)),
        ]);
    };
    let voting = mntr.synced_voting_followers();
    // Every other voter of the leader's view should be synced; learners include observers.
    let expected = node
        .view
        .as_ref()
        .map(|v| v.view.participant_count().saturating_sub(1) as u64);
    let pending = mntr.pending_syncs().unwrap_or(0);
    // The card is narrow: from the AdminServer, "voters" gives way to the route.
    let (what, via) = if node.mntr_source == Some(Source::Admin) {
        ("synced", " (admin)")
    } else {
        ("voters synced", "")
    };
    let text = format!(
        "{}/{} {what}, {pending} pending{via}",
        voting.map_or("?".into(), |v| v.to_string()),
        expected.map_or("?".into(), |f| f.to_string())
    );
    let healthy = pending == 0 && voting.is_some() && voting == expected;
    Line::from(vec![
        label,
        Span::styled(
            text,
            look.style(if healthy { Role::Ok } else { Role::Warning }),
        ),
    ])
}

/// A muted note in the bottom right corner of `area`: what does not fit on the screen.
pub(super) fn corner_note(frame: &mut Frame, area: Rect, note: String, look: &Look) {
    let width = u16::try_from(note.chars().count())
        .unwrap_or(0)
        .min(area.width);
    let at = Rect::new(
        area.right().saturating_sub(width),
        area.bottom().saturating_sub(1),
        width,
        1,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(note, look.style(Role::Muted))),
        at,
    );
}
