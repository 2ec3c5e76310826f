/*
 * setacl.h - give a file a POSIX access ACL, for the unit tests of the
 * trust checks, as setfacl(1) would (the machines that run them need not
 * have it): the system.posix_acl_access attribute is written directly, in
 * the kernel's form (a version, 2, then {tag, permissions, id} entries,
 * little-endian, in tag order).
 */
#ifndef MTA_STS_SYNC_SETACL_H
#define MTA_STS_SYNC_SETACL_H

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "tap.h"

/* Put the little-endian n-byte v at p; returns p + n. */
static unsigned char *
setacl_le(unsigned char *p, unsigned long v, size_t n)
{
	for (size_t i = 0; i < n; i++, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
	return p + n;
}

/* One entry at p: tag, perm, id. Returns where the next goes. */
static unsigned char *
setacl_entry(unsigned char *p, unsigned tag, unsigned perm, unsigned id)
{
	p = setacl_le(p, tag, 2);
	p = setacl_le(p, perm, 2);
	return setacl_le(p, id, 4);
}

/*
 * Give path the access ACL: owner and others as its mode says, owning
 * group group_perm, the user (or group, when is_group) id with perm, the
 * mask mask, as "setfacl -m u:ID:PERM,g::GROUP,m::MASK PATH" does (the
 * group bits of its mode become the mask). Returns 0, or -1 with errno
 * (EOPNOTSUPP: a file system without ACLs).
 */
static int __attribute__((unused))
set_acl(const char *path, int is_group, unsigned id, unsigned perm,
        unsigned group_perm, unsigned mask)
{
	unsigned char b[4 + 5 * 8], *p = b;
	const unsigned none = 0xffffffffu;
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	p = setacl_le(p, 2, 4);
	p = setacl_entry(p, 0x01, (st.st_mode >> 6) & 7, none);
	if (!is_group)
		p = setacl_entry(p, 0x02, perm, id);
	p = setacl_entry(p, 0x04, group_perm, none);
	if (is_group)
		p = setacl_entry(p, 0x08, perm, id);
	p = setacl_entry(p, 0x10, mask, none);
	p = setacl_entry(p, 0x20, st.st_mode & 7, none);
	return setxattr(path, "system.posix_acl_access", b, (size_t)(p - b), 0);
}

/*
 * Give path an access ACL naming the nu users uids and the ng groups
 * gids (ascending; 80 in all, at most), each with perm, its owning group
 * none, the mask mask, as "setfacl -m u:U1:PERM,...,g:G1:PERM,...,g::-,m::MASK
 * PATH" does. Returns 0, or -1 with errno.
 */
static int __attribute__((unused))
set_acl_list(const char *path, size_t nu, const unsigned *uids, size_t ng,
             const unsigned *gids, unsigned perm, unsigned mask)
{
	unsigned char b[4 + 8 * (4 + 80)], *p = b;
	const unsigned none = 0xffffffffu;
	struct stat st;

	if (nu + ng > 80) {
		errno = E2BIG;
		return -1;
	}
	if (stat(path, &st) == -1)
		return -1;
	p = setacl_le(p, 2, 4);
	p = setacl_entry(p, 0x01, (st.st_mode >> 6) & 7, none);
	for (size_t i = 0; i < nu; i++)
		p = setacl_entry(p, 0x02, perm, uids[i]);
	p = setacl_entry(p, 0x04, 0, none);
	for (size_t i = 0; i < ng; i++)
		p = setacl_entry(p, 0x08, perm, gids[i]);
	p = setacl_entry(p, 0x10, mask, none);
	p = setacl_entry(p, 0x20, st.st_mode & 7, none);
	return setxattr(path, "system.posix_acl_access", b, (size_t)(p - b), 0);
}

/* set_acl(), or, when it fails (a file system without ACLs), n tests
 * skipped, saying why. Returns 0, or -1 after the skips. */
static int __attribute__((unused))
set_acl_or_skip(const char *path, int is_group, unsigned id, unsigned perm,
                unsigned group_perm, unsigned mask, int n)
{
	const char *why;

	if (set_acl(path, is_group, id, perm, group_perm, mask) == 0)
		return 0;
	why = strerror(errno);
	for (int i = 0; i < n; i++)
		ok(1, "# SKIP cannot give %s an ACL: %s", path, why);
	return -1;
}

/* An entry of an NFSv4 ACL (nfs4_acl_blob()): its type (0 ALLOW, 1
 * DENY, 2 AUDIT, 3 ALARM), flags, access mask and principal. */
struct nfs4_ace_spec {
	unsigned type, flag, mask;
	const char *who;
};

/* Put the big-endian v at p; returns p + 4. */
static unsigned char *
nfs4_be_put(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16 & 0xff);
	p[2] = (unsigned char)(v >> 8 & 0xff);
	p[3] = (unsigned char)(v & 0xff);
	return p + 4;
}

/*
 * The n entries e as the Linux NFS client gives an NFSv4 ACL
 * (system.nfs4_acl: the XDR of RFC 7530 section 6.2.1, a count, then
 * per entry type, flags, mask, the principal's length and its bytes
 * padded with zeros to 4), into b (size bytes). Returns its length, or 0
 * when it does not fit.
 */
static size_t __attribute__((unused))
nfs4_acl_blob(const struct nfs4_ace_spec *e, size_t n, unsigned char *b,
              size_t size)
{
	unsigned char *p = b;

	if (size < 4)
		return 0;
	p = nfs4_be_put(p, (unsigned)n);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(e[i].who), padded = (len + 3) & ~(size_t)3;

		if ((size_t)(b + size - p) < 16 + padded)
			return 0;
		p = nfs4_be_put(p, e[i].type);
		p = nfs4_be_put(p, e[i].flag);
		p = nfs4_be_put(p, e[i].mask);
		p = nfs4_be_put(p, (unsigned)len);
		memset(p, 0, padded);
		memcpy(p, e[i].who, len);
		p += padded;
	}
	return (size_t)(p - b);
}

/* Take path's access ACL away (setfacl -b). */
/*
 * What a stand-in for fgetxattr(2) or getxattr(2) gives for the
 * attribute name of a file faked to hold blob (len bytes) as its
 * attribute want ("system.nfs4_acl"; NULL: none): blob into value (size
 * bytes; 0: its size alone; too small: ERANGE), ENOTSUP for any other
 * name, as an NFSv4 mount has no POSIX ACL. Returns the length, or -1
 * with errno.
 */
static ssize_t __attribute__((unused))
xattr_fake_give(const char *want, const unsigned char *blob, size_t len,
                const char *name, void *value, size_t size)
{
	if (want == NULL || strcmp(name, want) != 0) {
		errno = ENOTSUP;
		return -1;
	}
	if (size != 0 && size < len) {
		errno = ERANGE;
		return -1;
	}
	if (size != 0)
		memcpy(value, blob, len);
	return (ssize_t)len;
}

static void __attribute__((unused)) clear_acl(const char *path)
{
	removexattr(path, "system.posix_acl_access");
}

#endif
