//! A minimal rtnetlink client (the netlink-packet-* crates libcontainer already brings):
//! bridges, veth pairs, addresses, routes and link state, in the host's network namespace
//! or, through [`Netlink::open_in`], in a container's.

use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::Path;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::protocols::NETLINK_ROUTE;
use netlink_sys::Socket;

pub struct Netlink {
    socket: Socket,
    seq: u32,
}

impl Netlink {
    /// A socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        Ok(Netlink { socket, seq: 0 })
    }

    /// A socket in the network namespace at `ns` (the thread enters it for the socket's
    /// creation only: a netlink socket stays in the namespace it was made in).
    pub fn open_in(ns: &Path) -> io::Result<Self> {
        let here = File::open("/proc/thread-self/ns/net")?;
        let there = File::open(ns)?;
        setns(there.as_raw_fd())?;
        let result = Self::open();
        setns(here.as_raw_fd()).expect("cannot return to the host network namespace");
        result
    }

    /// Sends one request and waits for its acknowledgement (or the reply, for a get).
    fn call(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<Option<LinkMessage>> {
        self.seq += 1;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut req = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        req.finalize();
        let mut buf = vec![0u8; req.buffer_len()];
        req.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        let mut found = None;
        let mut rx = vec![0u8; 65536];
        loop {
            let n = self.socket.recv(&mut &mut rx[..], 0)?;
            let mut off = 0;
            while off < n {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rx[off..n])
                    .map_err(|e| io::Error::other(format!("netlink: {e}")))?;
                let len = msg.header.length as usize;
                if msg.header.sequence_number == self.seq {
                    match msg.payload {
                        NetlinkPayload::Error(e) => {
                            return match e.code {
                                None => Ok(found),
                                Some(_) => Err(e.to_io()),
                            };
                        }
                        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                            found = Some(l);
                        }
                        NetlinkPayload::Done(_) => return Ok(found),
                        _ => {}
                    }
                }
                if len == 0 {
                    break;
                }
                off += len;
            }
        }
    }

    /// The index of link `name`, if it exists.
    pub fn link_index(&mut self, name: &str) -> io::Result<Option<u32>> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.call(RouteNetlinkMessage::GetLink(m), NLM_F_ACK) {
            Ok(found) => Ok(found.map(|l| l.header.index)),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn index(&mut self, name: &str) -> io::Result<u32> {
        self.link_index(name)?
            .ok_or_else(|| io::Error::other(format!("no network interface {name}")))
    }

    /// Creates bridge `name` (an existing one is fine).
    pub fn add_bridge(&mut self, name: &str, mtu: Option<u32>) -> io::Result<u32> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        if let Some(mtu) = mtu {
            m.attributes.push(LinkAttribute::Mtu(mtu));
        }
        m.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        match self.call(
            RouteNetlinkMessage::NewLink(m),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e),
        }
        self.index(name)
    }

    /// Creates the veth pair `host` ↔ `peer`, with `peer` moved into the namespace `ns`.
    pub fn add_veth(
        &mut self,
        host: &str,
        peer: &str,
        ns: impl AsFd,
        mtu: Option<u32>,
    ) -> io::Result<u32> {
        let mut p = LinkMessage::default();
        p.attributes.push(LinkAttribute::IfName(peer.to_string()));
        p.attributes
            .push(LinkAttribute::NetNsFd(ns.as_fd().as_raw_fd()));
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(host.to_string()));
        if let Some(mtu) = mtu {
            m.attributes.push(LinkAttribute::Mtu(mtu));
            p.attributes.push(LinkAttribute::Mtu(mtu));
        }
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))),
        ]));
        self.call(
            RouteNetlinkMessage::NewLink(m),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )?;
        self.index(host)
    }

    /// Sets link `index` up, attached to `controller` when given.
    pub fn set_up(&mut self, index: u32, controller: Option<u32>) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        if let Some(c) = controller {
            m.attributes.push(LinkAttribute::Controller(c));
        }
        self.call(RouteNetlinkMessage::SetLink(m), NLM_F_ACK)
            .map(|_| ())
    }

    pub fn up_by_name(&mut self, name: &str) -> io::Result<u32> {
        let i = self.index(name)?;
        self.set_up(i, None)?;
        Ok(i)
    }

    /// Adds `ip/prefix` to link `index` (an existing one is fine).
    pub fn add_address(&mut self, index: u32, ip: IpAddr, prefix: u8) -> io::Result<()> {
        let mut m = AddressMessage::default();
        m.header.family = family(ip);
        m.header.prefix_len = prefix;
        m.header.index = index;
        m.attributes.push(AddressAttribute::Local(ip));
        m.attributes.push(AddressAttribute::Address(ip));
        if let IpAddr::V4(v4) = ip {
            let host_bits = 32 - u32::from(prefix);
            let bcast = if host_bits >= 32 {
                u32::MAX
            } else {
                u32::from(v4) | ((1u32 << host_bits) - 1)
            };
            m.attributes.push(AddressAttribute::Broadcast(bcast.into()));
        } else {
            // No duplicate address detection (as Docker): the address is ours by allocation,
            // and a tentative one would drop traffic for the first second or two.
            m.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        match self.call(
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Adds the default route via `gateway`.
    pub fn add_default_route(&mut self, gateway: IpAddr) -> io::Result<()> {
        let mut m = RouteMessage::default();
        m.header.address_family = family(gateway);
        m.header.table = libc::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::Boot;
        m.header.scope = RouteScope::Universe;
        m.header.kind = RouteType::Unicast;
        m.attributes.push(RouteAttribute::Gateway(match gateway {
            IpAddr::V4(v4) => RouteAddress::Inet(v4),
            IpAddr::V6(v6) => RouteAddress::Inet6(v6),
        }));
        self.call(
            RouteNetlinkMessage::NewRoute(m),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(|_| ())
    }

    /// Deletes link `name`; a missing one is fine.
    pub fn delete_link(&mut self, name: &str) -> io::Result<()> {
        let Some(index) = self.link_index(name)? else {
            return Ok(());
        };
        let mut m = LinkMessage::default();
        m.header.index = index;
        match self.call(RouteNetlinkMessage::DelLink(m), NLM_F_ACK) {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn family(ip: IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

fn setns(fd: RawFd) -> io::Result<()> {
    // SAFETY: setns on a namespace descriptor we hold open; it only changes this thread.
    if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
