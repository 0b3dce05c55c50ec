//! Reading variables: where they come from, and the one-line errors that
//! name a variable whose value is wrong.

use std::str::FromStr;

/// A configuration error: which variable, and what is wrong with its value.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    /// The environment variable or flag at fault.
    pub name: &'static str,
    /// What is wrong, including the offending value unless it is secret.
    pub message: String,
}

impl ConfigError {
    pub(super) fn new(name: &'static str, message: impl Into<String>) -> Self {
        Self {
            name,
            message: message.into(),
        }
    }
}

/// A source of variables: the process environment in production, a map in tests.
pub trait Vars {
    /// The value of `name`, if set and not empty.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Vars for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<const N: usize> Vars for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

pub(super) fn parse_var<T: FromStr>(
    vars: &dyn Vars,
    name: &'static str,
    default: T,
    what: &str,
) -> Result<T, ConfigError> {
    match vars.get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| ConfigError::new(name, format!("{raw:?} is not {what}"))),
    }
}

pub(super) fn list_var(vars: &dyn Vars, name: &str) -> Vec<String> {
    vars.get(name)
        .map(|raw| {
            raw.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Like [`parse_var`], for a count or duration that must be at least 1.
pub(super) fn positive_var<T: FromStr + PartialOrd + From<u8>>(
    vars: &dyn Vars,
    name: &'static str,
    default: T,
    what: &str,
) -> Result<T, ConfigError> {
    let value = parse_var(vars, name, default, what)?;
    if value < T::from(1) {
        return Err(ConfigError::new(name, "must be at least 1"));
    }
    Ok(value)
}

/// One of `choices` (value, meaning), or `default` when unset.
pub(super) fn choice_var<T: Copy>(
    vars: &dyn Vars,
    name: &'static str,
    default: T,
    choices: &[(&str, T)],
) -> Result<T, ConfigError> {
    let Some(raw) = vars.get(name) else {
        return Ok(default);
    };
    let raw = raw.trim();
    choices
        .iter()
        .find(|(text, _)| *text == raw)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(text, _)| *text).collect();
            ConfigError::new(name, format!("{raw:?} is not one of {}", names.join(", ")))
        })
}
