//! Leader election through a `coordination.k8s.io/v1` Lease, so scheduler replicas (two
//! `foreman scheduler`s, or one and a console run with `--scheduler`) never both place.
//! client-go's rules, small: the holder renews `renewTime` every retry period; anyone may
//! take a Lease whose `renewTime + leaseDurationSeconds` has passed (or that has no holder),
//! bumping `leaseTransitions`; every write carries the resourceVersion it read, so of two
//! replicas taking a free Lease at once one gets 409 Conflict and follows.
//!
//! No crate fits kube 5 (kube-leader-election, kube-coordinate and kube-lease-manager track
//! older kube majors), hence this module.
//!
//! Safety against two leaders: a replica acts only until `leading_until`, its last successful
//! write plus the lease duration minus a margin (one fifth), measured on its own monotonic
//! clock from *before* the write; a follower takes over only after the wall-clock
//! `renewTime + duration`. With clocks in step (NTP), the old leader has stopped by then.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use std::time::{Duration, Instant};

/// Which Lease, who we are, and how long a holder's claim lasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// `holderIdentity` when we lead: `<host>-<pid>` by default ([`default_identity`]).
    pub identity: String,
    pub duration: Duration,
}

/// The Lease `foreman scheduler` replicas elect through unless `--lease-name` says otherwise
/// (a console that does not schedule reads this one).
pub const DEFAULT_NAME: &str = "foreman-scheduler";

impl LeaseConfig {
    /// The Lease `name` in `namespace` (`default` when empty: a scheduler of all namespaces),
    /// held as [`default_identity`].
    pub fn new(namespace: &str, name: &str, duration: Duration) -> LeaseConfig {
        let ns = namespace.trim();
        LeaseConfig {
            namespace: if ns.is_empty() { "default" } else { ns }.to_string(),
            name: name.to_string(),
            identity: default_identity(),
            duration,
        }
    }

    /// How often the holder renews and a follower retries: a sixth of the duration, so a
    /// renewal can fail four times before the holder's claim runs out.
    pub fn retry(&self) -> Duration {
        (self.duration / 6).max(Duration::from_millis(200))
    }
}

/// `<host>-<pid>`: unique per process on a machine, readable in `kubectl get lease`.
pub fn default_identity() -> String {
    format!("{}-{}", crate::fleet::host::hostname(), std::process::id())
}

/// The outcome of one election round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leadership {
    /// We hold the Lease; act until this instant.
    Leading { until: Instant },
    /// Someone else holds it (`holder` is empty when the Lease was just taken by another
    /// replica and not read back yet).
    Following { holder: String },
}

/// One replica's view of the Lease.
pub struct Elector {
    api: Api<Lease>,
    cfg: LeaseConfig,
}

impl Elector {
    pub fn new(client: Client, cfg: LeaseConfig) -> Elector {
        Elector {
            api: Api::namespaced(client, &cfg.namespace),
            cfg,
        }
    }

    pub fn config(&self) -> &LeaseConfig {
        &self.cfg
    }

    /// One round: take the Lease if it is free or expired, renew it if it is ours, else
    /// report its holder. API errors are the caller's to log and retry.
    pub async fn step(&self) -> Result<Leadership, kube::Error> {
        let started = Instant::now();
        let now = k8s_openapi::jiff::Timestamp::now();
        let leading = Leadership::Leading {
            until: started + self.cfg.duration - self.cfg.duration / 5,
        };
        let Some(old) = self.api.get_opt(&self.cfg.name).await? else {
            let fresh = Lease {
                metadata: ObjectMeta {
                    name: Some(self.cfg.name.clone()),
                    namespace: Some(self.cfg.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(self.claim(now, None)),
            };
            return match self.api.create(&PostParams::default(), &fresh).await {
                Ok(_) => Ok(leading),
                Err(e) if conflict(&e) => Ok(self.following(String::new())),
                Err(e) => Err(e),
            };
        };
        let spec = old.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if holder != self.cfg.identity && !expired(&spec, now) {
            return Ok(self.following(holder));
        }
        let mut next = old.clone();
        next.spec = Some(self.claim(now, Some(&spec)));
        // `replace` sends the resourceVersion read above: a concurrent taker makes it 409.
        match self
            .api
            .replace(&old.name_any(), &PostParams::default(), &next)
            .await
        {
            Ok(_) => Ok(leading),
            Err(e) if conflict(&e) => Ok(self.following(holder)),
            Err(e) => Err(e),
        }
    }

    /// On a clean shutdown: give the Lease up (no holder), so a follower takes over at its
    /// next retry instead of after the whole duration. Only if it is still ours.
    pub async fn release(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.cfg.name).await? else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(self.cfg.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        let name = lease.name_any();
        match self
            .api
            .replace(&name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if conflict(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn following(&self, holder: String) -> Leadership {
        Leadership::Following { holder }
    }

    /// The spec we write: a renewal keeps `acquireTime` and the transition count; a
    /// takeover (or the first claim) sets them.
    fn claim(&self, now: k8s_openapi::jiff::Timestamp, old: Option<&LeaseSpec>) -> LeaseSpec {
        let ours = old.is_some_and(|s| s.holder_identity.as_deref() == Some(&self.cfg.identity));
        let transitions = old.and_then(|s| s.lease_transitions).unwrap_or(0);
        let took_over = old.is_some_and(|s| s.holder_identity.is_some());
        LeaseSpec {
            holder_identity: Some(self.cfg.identity.clone()),
            lease_duration_seconds: Some(self.cfg.duration.as_secs().clamp(1, 3600) as i32),
            acquire_time: match (ours, old) {
                (true, Some(s)) => s.acquire_time.clone(),
                _ => Some(MicroTime(now)),
            },
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(if !ours && took_over {
                transitions + 1
            } else {
                transitions
            }),
            ..Default::default()
        }
    }
}

/// Who holds `lease` now: None when nobody does or the holder's claim has run out (a
/// console that does not schedule shows this as the leader).
pub fn live_holder(lease: &Lease, now: k8s_openapi::jiff::Timestamp) -> Option<String> {
    let spec = lease.spec.as_ref()?;
    (!expired(spec, now)).then(|| spec.holder_identity.clone().unwrap_or_default())
}

/// The live holder of the Lease `name` in `namespace` (`default` when empty).
pub async fn read_holder(
    client: Client,
    namespace: &str,
    name: &str,
) -> Result<Option<String>, kube::Error> {
    let ns = Some(namespace.trim())
        .filter(|n| !n.is_empty())
        .unwrap_or("default");
    let lease = Api::<Lease>::namespaced(client, ns).get_opt(name).await?;
    let now = k8s_openapi::jiff::Timestamp::now();
    Ok(lease.and_then(|l| live_holder(&l, now)))
}

/// No holder, or the holder's last renewal is older than its own `leaseDurationSeconds`.
fn expired(spec: &LeaseSpec, now: k8s_openapi::jiff::Timestamp) -> bool {
    if spec.holder_identity.as_deref().is_none_or(str::is_empty) {
        return true;
    }
    let (Some(renew), Some(secs)) = (&spec.renew_time, spec.lease_duration_seconds) else {
        return true;
    };
    renew.0 + k8s_openapi::jiff::SignedDuration::from_secs(i64::from(secs)) < now
}

fn conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::{SignedDuration, Timestamp};

    fn spec(holder: Option<&str>, renewed_ago: i64, secs: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_string),
            renew_time: Some(MicroTime(
                Timestamp::now() - SignedDuration::from_secs(renewed_ago),
            )),
            lease_duration_seconds: Some(secs),
            ..Default::default()
        }
    }

    #[test]
    fn a_lease_expires_after_its_own_duration_or_without_a_holder() {
        let now = Timestamp::now();
        assert!(!expired(&spec(Some("a"), 5, 15), now));
        assert!(expired(&spec(Some("a"), 16, 15), now));
        assert!(expired(&spec(None, 0, 15), now));
        assert!(expired(&spec(Some(""), 0, 15), now));
        assert!(expired(&LeaseSpec::default(), now));
    }

    #[test]
    fn the_retry_period_leaves_room_for_failed_renewals() {
        let cfg = LeaseConfig {
            namespace: "default".into(),
            name: "foreman-scheduler".into(),
            identity: "me".into(),
            duration: Duration::from_secs(15),
        };
        assert_eq!(cfg.retry(), Duration::from_millis(2500));
        // The claim lasts 4/5 of the duration: more than three retries.
        assert!(cfg.retry() * 4 < cfg.duration - cfg.duration / 5);
    }
}
