//! The administrator's test login: every step of a real login, reported, with no account
//! created, linked or changed.

use serde::Serialize;
use serde_json::Value;

use super::account::{AccountDecision, AccountDirectory};
use super::error::LoginError;
use super::login::{Federation, LoginStep, PendingLogin};
use super::profile::ExternalProfile;

/// What a test login found.
#[derive(Debug, Clone, Serialize)]
pub struct TestLoginReport {
    /// Each step taken, in order, with its failure if it failed.
    pub steps: Vec<StepReport>,
    /// The mapped profile, when the login got that far.
    pub profile: Option<ExternalProfile>,
    /// The JSON the mapping read.
    pub raw_profile: Option<Value>,
    /// What a real login would do with the account, when a directory was given.
    pub account: Option<AccountDecision>,
}

/// One step's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The step.
    pub step: LoginStep,
    /// `None` when it succeeded, else why it failed.
    pub error: Option<String>,
}

impl TestLoginReport {
    /// Whether every step succeeded.
    pub fn succeeded(&self) -> bool {
        self.profile.is_some() && self.steps.iter().all(|s| s.error.is_none())
    }
}

impl Federation {
    /// Runs a test login started by [`Federation::start_test_login`]: the same steps as a
    /// real login, and (with `accounts`) the account decision, read-only. Nothing is created,
    /// linked, refreshed or counted.
    pub async fn test_login(
        &self,
        callback_module: &super::ModuleId,
        pending: &PendingLogin,
        callback_query: &str,
        accounts: Option<&dyn AccountDirectory>,
    ) -> Result<TestLoginReport, LoginError> {
        if &pending.module != callback_module {
            return Err(LoginError::WrongCallback);
        }
        if !pending.is_test() {
            return Err(LoginError::StateMismatch);
        }
        let module = self.module(&pending.module).await?;
        let mut steps = Vec::new();
        let login = self
            .complete(&module, pending, callback_query, &mut steps)
            .await;
        let account = match (&login, accounts) {
            (Ok(login), Some(accounts)) => Some(self.decide(login, accounts).await?),
            _ => None,
        };
        let (profile, raw_profile) = match login {
            Ok(login) => (Some(login.profile), Some(login.raw_profile)),
            Err(_) => (None, None),
        };
        Ok(TestLoginReport {
            steps: steps
                .into_iter()
                .map(|(step, result)| StepReport {
                    step,
                    error: result.err().map(|e| e.to_string()),
                })
                .collect(),
            profile,
            raw_profile,
            account,
        })
    }
}
