//! The warning for ports published on every host address (reliability-plan c.3 item 15).
//!
//! A short `8080:80` (or a bare `80`) names no host address, so it binds `0.0.0.0` and `[::]`:
//! whoever can reach the host can reach the service, which is rarely what a developer running
//! a database on a laptop means. Docker Compose binds it silently; we bind it the same way and
//! say so, once per service, when its containers are created — a converged project (a no-op
//! `up`) stays quiet, and an explicit address (`0.0.0.0:8080:80`, `127.0.0.1:8080:80`) is taken
//! as the user's intent and never warned about. Pure: the plan and the project in, lines out.

use super::planner::{Op, Plan};
use crate::spec::model::{Port, Project};

/// One warning line per service that this plan creates or recreates and that publishes ports
/// without a host address, in start order.
pub fn warnings(project: &Project, plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for sp in plan.levels.iter().flatten() {
        let creates = sp
            .steps
            .iter()
            .any(|s| matches!(s.op, Op::Create { .. } | Op::Recreate { .. }));
        if !creates {
            continue;
        }
        let Some(svc) = project.services.get(&sp.service) else {
            continue;
        };
        if svc.network_mode == "host" {
            continue; // Nothing is published: the service uses the host's own stack.
        }
        let wide: Vec<&Port> = svc.ports.iter().filter(|p| p.host_ip.is_empty()).collect();
        let Some(first) = wide.first() else {
            continue;
        };
        let list = wide.iter().map(|p| short(p)).collect::<Vec<_>>().join(", ");
        out.push(format!(
            "service {:?} publishes {list} on every host address (0.0.0.0 and [::]); \
             write \"127.0.0.1:{}\" to keep it on this host",
            sp.service,
            short(first)
        ));
    }
    out
}

/// A port in its short form: `published:target[/proto]`, or `target[/proto]` when the host
/// port is left to the engine.
fn short(p: &Port) -> String {
    let proto = match p.protocol.as_str() {
        "" | "tcp" => String::new(),
        other => format!("/{other}"),
    };
    if p.published.is_empty() {
        format!("{}{proto}", p.target)
    } else {
        format!("{}:{}{proto}", p.published, p.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::planner::{Cause, ServicePlan, Step};
    use crate::spec::model::Service;

    fn port(host_ip: &str, published: &str, target: u32, protocol: &str) -> Port {
        Port {
            host_ip: host_ip.into(),
            published: published.into(),
            target,
            protocol: protocol.into(),
            ..Default::default()
        }
    }

    fn project(services: Vec<(&str, Vec<Port>, &str)>) -> Project {
        let mut p = Project::default();
        for (name, ports, network_mode) in services {
            p.services.insert(
                name.into(),
                Service {
                    ports,
                    network_mode: network_mode.into(),
                    ..Default::default()
                },
            );
        }
        p
    }

    fn plan(services: &[(&str, Option<Op>)]) -> Plan {
        Plan {
            levels: vec![services
                .iter()
                .map(|(name, op)| ServicePlan {
                    service: (*name).into(),
                    steps: op
                        .iter()
                        .map(|op| Step {
                            op: op.clone(),
                            cause: Cause::Missing,
                        })
                        .collect(),
                    up_to_date: vec![],
                })
                .collect()],
            ..Default::default()
        }
    }

    fn create(s: &str) -> Option<Op> {
        Some(Op::Create {
            service: s.into(),
            number: 1,
        })
    }

    #[test]
    fn bare_ports_of_created_services_are_named_once_per_service() {
        let p = project(vec![
            (
                "web",
                vec![
                    port("", "8080", 80, "tcp"),
                    port("127.0.0.1", "5432", 5432, "tcp"),
                    port("", "", 53, "udp"),
                ],
                "",
            ),
            ("db", vec![port("127.0.0.1", "5433", 5432, "tcp")], ""),
            ("explicit", vec![port("0.0.0.0", "9000", 90, "tcp")], ""),
        ]);
        let w = warnings(
            &p,
            &plan(&[
                ("web", create("web")),
                ("db", create("db")),
                ("explicit", create("explicit")),
            ]),
        );
        assert_eq!(
            w,
            vec!["service \"web\" publishes 8080:80, 53/udp on every host address (0.0.0.0 and [::]); \
                  write \"127.0.0.1:8080:80\" to keep it on this host"]
        );
    }

    #[test]
    fn converged_started_and_host_network_services_are_not_warned_about() {
        let p = project(vec![
            ("web", vec![port("", "8080", 80, "tcp")], ""),
            ("hostnet", vec![port("", "8081", 80, "tcp")], "host"),
        ]);
        let start = Some(Op::Start {
            service: "web".into(),
            number: 1,
        });
        assert!(warnings(&p, &plan(&[("web", None)])).is_empty());
        assert!(warnings(&p, &plan(&[("web", start)])).is_empty());
        assert!(warnings(&p, &plan(&[("hostnet", create("hostnet"))])).is_empty());
        let recreate = Some(Op::Recreate {
            service: "web".into(),
            number: 1,
            id: "x".into(),
            name: "p-web-1".into(),
        });
        assert_eq!(warnings(&p, &plan(&[("web", recreate)])).len(), 1);
    }
}
