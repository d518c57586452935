//! Admission: the per-address rate limit, applied to every call before its request is decoded.
//!
//! A tower layer in front of the gRPC services: it reads only the caller's address (from the
//! connection) and the method (from the path), charges the method's cost to the caller's bucket,
//! and answers `rate.limited` without touching the body when the bucket is empty. IPv4 callers
//! are keyed by address, IPv6 callers by their /64 (one host usually holds a whole /64). Buckets
//! of callers not seen for a while are pruned.

use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tonic::{body::Body, server::NamedService, transport::server::TcpConnectInfo, Status};
use tower::{Layer, Service};

use crate::{error::NodeError, RateLimit};

/// How often buckets of quiet callers are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The key of a caller: its IPv4 address, or the /64 of its IPv6 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallerKey {
    V4([u8; 4]),
    V6Prefix([u8; 8]),
}

impl CallerKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4.octets()),
                None => {
                    let mut prefix = [0u8; 8];
                    prefix.copy_from_slice(&v6.octets()[..8]);
                    Self::V6Prefix(prefix)
                }
            },
        }
    }
}

/// What a call costs, by method: reads that may touch many rows or open a long-lived stream
/// cost more than a lookup.
pub fn cost_of(path: &str) -> u32 {
    match path.rsplit('/').next().unwrap_or_default() {
        "Subscribe" => 8,
        "Publish" | "Query" | "GetIdentityUpdates" | "FetchKeyPackages" => 2,
        _ => 1,
    }
}

/// The shared limiter; one per node.
#[derive(Clone)]
pub struct Admission {
    limiter: Arc<DefaultKeyedRateLimiter<CallerKey>>,
    burst: NonZeroU32,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("callers", &self.limiter.len())
            .finish()
    }
}

impl Admission {
    /// A limiter allowing `limit.per_second` cost units per caller, bursts of `limit.burst`.
    /// Starts the pruning task (on the current runtime); it ends with the last clone.
    pub fn new(limit: RateLimit) -> Self {
        let burst = limit.burst;
        let limiter = Arc::new(RateLimiter::keyed(
            Quota::per_second(limit.per_second).allow_burst(burst),
        ));
        let weak = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PRUNE_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(limiter) = weak.upgrade() else {
                    return;
                };
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        });
        Self { limiter, burst }
    }

    /// Charges `cost` to `caller` (at most a whole burst, so every call can be admitted);
    /// refused when its bucket cannot pay.
    pub fn charge(&self, caller: IpAddr, cost: u32) -> Result<(), NodeError> {
        let cost = NonZeroU32::new(cost)
            .unwrap_or(NonZeroU32::MIN)
            .min(self.burst);
        match self.limiter.check_key_n(&CallerKey::of(caller), cost) {
            Ok(Ok(())) => Ok(()),
            _ => Err(NodeError::RateLimited {
                peer: caller.to_string(),
            }),
        }
    }

    /// Callers with a bucket right now.
    pub fn callers(&self) -> usize {
        self.limiter.len()
    }
}

/// The layer that puts [`Admission`] in front of a service (a no-op without a limit).
#[derive(Clone, Debug, Default)]
pub struct AdmissionLayer {
    admission: Option<Admission>,
}

impl AdmissionLayer {
    pub fn new(admission: Option<Admission>) -> Self {
        Self { admission }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admitted<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admitted {
            inner,
            admission: self.admission.clone(),
        }
    }
}

/// A service behind [`AdmissionLayer`].
#[derive(Clone, Debug)]
pub struct Admitted<S> {
    inner: S,
    admission: Option<Admission>,
}

impl<S: NamedService> NamedService for Admitted<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<http::Request<B>> for Admitted<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = futures::future::Either<
        S::Future,
        futures::future::Ready<Result<http::Response<Body>, S::Error>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if let Some(admission) = &self.admission {
            let caller = request
                .extensions()
                .get::<TcpConnectInfo>()
                .and_then(TcpConnectInfo::remote_addr)
                .map(|a| a.ip());
            if let Some(caller) = caller {
                if let Err(refused) = admission.charge(caller, cost_of(request.uri().path())) {
                    let status: Status = refused.into();
                    return futures::future::Either::Right(futures::future::ready(Ok(
                        status.into_http()
                    )));
                }
            }
        }
        futures::future::Either::Left(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ipv6_callers_share_a_bucket_per_64_and_ipv4_per_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(CallerKey::of(a), CallerKey::of(b));
        assert_ne!(CallerKey::of(a), CallerKey::of(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(CallerKey::of(mapped), CallerKey::V4([10, 0, 0, 1]));
        assert_ne!(
            CallerKey::of(IpAddr::from([10, 0, 0, 1])),
            CallerKey::of(IpAddr::from([10, 0, 0, 2]))
        );
    }

    #[tokio::test]
    async fn a_caller_that_spends_its_burst_is_refused_and_others_are_not() {
        let admission = Admission::new(RateLimit {
            per_second: NonZeroU32::MIN,
            burst: NonZeroU32::new(10).unwrap(),
        });
        let greedy = IpAddr::from([10, 0, 0, 1]);
        let calm = IpAddr::from([10, 0, 0, 2]);
        assert!(admission
            .charge(greedy, cost_of("/arx.v1.Node/Subscribe"))
            .is_ok());
        assert!(admission
            .charge(greedy, cost_of("/arx.v1.Node/Publish"))
            .is_ok());
        let refused = admission.charge(greedy, cost_of("/arx.v1.Node/Subscribe"));
        assert!(matches!(refused, Err(NodeError::RateLimited { .. })));
        assert!(admission
            .charge(calm, cost_of("/arx.v1.Node/Subscribe"))
            .is_ok());
        assert_eq!(admission.callers(), 2);
    }
}
