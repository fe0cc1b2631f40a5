//! Key bindings as data: one table drives both the key handling and the help screen.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    Up,
    Down,
    Left,
    Right,
    Open,
    Back,
    Help,
    Quit,
}

pub struct Binding {
    pub keys: &'static str,
    pub action: KeyAction,
    pub help: &'static str,
}

pub const BINDINGS: [Binding; 8] = [
    Binding {
        keys: "↑ / k",
        action: KeyAction::Up,
        help: "select the node above (scroll up in details)",
    },
    Binding {
        keys: "↓ / j",
        action: KeyAction::Down,
        help: "select the node below (scroll down in details)",
    },
    Binding {
        keys: "← / h",
        action: KeyAction::Left,
        help: "select the previous node",
    },
    Binding {
        keys: "→ / l",
        action: KeyAction::Right,
        help: "select the next node",
    },
    Binding {
        keys: "Enter",
        action: KeyAction::Open,
        help: "the selected node's full mntr and conf",
    },
    Binding {
        keys: "Esc",
        action: KeyAction::Back,
        help: "close the overlay",
    },
    Binding {
        keys: "?",
        action: KeyAction::Help,
        help: "this help",
    },
    Binding {
        keys: "q / Ctrl-C",
        action: KeyAction::Quit,
        help: "quit and restore the terminal",
    },
];

pub fn action_for(event: &KeyEvent) -> Option<KeyAction> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    if event.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(event.code, KeyCode::Char('c')).then_some(KeyAction::Quit);
    }
    Some(match event.code {
        KeyCode::Up | KeyCode::Char('k') => KeyAction::Up,
        KeyCode::Down | KeyCode::Char('j') => KeyAction::Down,
        KeyCode::Left | KeyCode::Char('h') => KeyAction::Left,
        KeyCode::Right | KeyCode::Char('l') => KeyAction::Right,
        KeyCode::Enter => KeyAction::Open,
        KeyCode::Esc => KeyAction::Back,
        KeyCode::Char('?') => KeyAction::Help,
        KeyCode::Char('q') => KeyAction::Quit,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_quits_and_plain_c_does_nothing() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&ctrl_c), Some(KeyAction::Quit));
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(action_for(&c), None);
    }

    #[test]
    fn every_action_has_a_help_line() {
        for action in [
            KeyAction::Up,
            KeyAction::Down,
            KeyAction::Left,
            KeyAction::Right,
            KeyAction::Open,
            KeyAction::Back,
            KeyAction::Help,
            KeyAction::Quit,
        ] {
            assert!(BINDINGS.iter().any(|b| b.action == action), "{action:?}");
        }
    }
}
