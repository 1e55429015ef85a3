//! Users and groups read straight from /etc/passwd and /etc/group, for the static build.
//!
//! glibc looks users up through NSS, which loads the shared modules /etc/nsswitch.conf names
//! (`systemd`, `ldap`, ...). A statically linked glibc program cannot run them: it crashes
//! trying. So `make small`'s executable reads the two files itself, as a static musl program
//! does, and users and groups known only to other sources are not seen there.

use nix::unistd::{Gid, Uid};

/// A user as the privilege drop needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
}

/// The entry of `name` in the text of a passwd file (`name:password:uid:gid:gecos:home:shell`
/// per line); the first one, as glibc takes it. Lines that do not read are passed over.
pub fn find_user(passwd: &str, name: &str) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some(Account {
            name: name.to_owned(),
            uid: Uid::from_raw(uid),
            gid: Gid::from_raw(gid),
        })
    })
}

/// What `initgroups` gives the user `name` whose own group is `primary`: that group, then
/// every group in the text of a group file (`name:password:gid:member,member` per line) that
/// lists the user as a member, each once.
pub fn groups_of(group: &str, name: &str, primary: Gid) -> Vec<Gid> {
    let mut groups = vec![primary];
    for line in group.lines() {
        let mut fields = line.split(':');
        let (Some(_group), Some(_password), Some(gid), Some(members)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Ok(gid) = gid.parse() else {
            continue;
        };
        let gid = Gid::from_raw(gid);
        if members.split(',').any(|member| member == name) && !groups.contains(&gid) {
            groups.push(gid);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                          +nis-entry\n\
                          broken:x:notanumber:1::/:/bin/false\n\
                          mosquitto:x:101:102::/var/lib/mosquitto:/usr/sbin/nologin\n\
                          mosquitto:x:999:999:a second entry:/:/bin/false\n";

    const GROUP: &str = "root:x:0:\n\
                         mosquitto:x:102:\n\
                         ssl-cert:x:110:postgres,mosquitto\n\
                         again:x:102:mosquitto\n\
                         broken:x:zz:mosquitto\n\
                         mosquittos:x:120:mosquittoX\n\
                         short:x\n";

    #[test]
    fn a_user_is_found_by_name_first_entry_first() {
        assert_eq!(
            find_user(PASSWD, "mosquitto"),
            Some(Account {
                name: "mosquitto".into(),
                uid: Uid::from_raw(101),
                gid: Gid::from_raw(102),
            })
        );
        assert_eq!(
            find_user(PASSWD, "root").map(|a| a.uid),
            Some(Uid::from_raw(0))
        );
    }

    #[test]
    fn unknown_users_and_lines_that_do_not_read_give_nothing() {
        assert_eq!(find_user(PASSWD, "nobody"), None);
        assert_eq!(find_user(PASSWD, "broken"), None);
        assert_eq!(find_user(PASSWD, "+nis-entry"), None);
        assert_eq!(find_user("", "root"), None);
    }

    #[test]
    fn groups_are_the_primary_then_those_listing_the_user_each_once() {
        let gids: Vec<u32> = groups_of(GROUP, "mosquitto", Gid::from_raw(102))
            .into_iter()
            .map(Gid::as_raw)
            .collect();
        assert_eq!(gids, [102, 110]);
        let alone = groups_of(GROUP, "nobody", Gid::from_raw(65534));
        assert_eq!(alone, [Gid::from_raw(65534)]);
    }
}
