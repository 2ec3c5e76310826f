/*
 * acl-nfs4.c - the principals an NFSv4 ACL lets write or read a file (see
 * acl.h, acl_nfs4_judge()). The Linux NFS client gives the ACL as its
 * server sent it (system.nfs4_acl), the XDR of fattr4_acl, RFC 7530
 * section 6.2.1: a count, then per entry (nfsace4) its type, flags and
 * access mask and its principal, a length and that many bytes padded to
 * a multiple of 4; every number 4 bytes, big-endian. The server checks
 * the entries in order, whatever the mode says, so every entry that
 * grants is judged, as a POSIX ACL's named entries are.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "dirwalk.h"
#include "util.h"

/* Bytes of an entry before its principal; of a principal, at most (the
 * longest "user@domain" a message or a name lookup may take). */
#define NFS4_ACE_HEAD 16
#define NFS4_WHO_MAX 255

/* Entry types (section 6.2.1.1). */
enum { NFS4_ALLOW, NFS4_DENY, NFS4_AUDIT, NFS4_ALARM };

/* Flags (section 6.2.1.4; INHERITED, RFC 8881 section 6.2.1.4.1). */
#define NFS4_INHERIT_ONLY 0x08
#define NFS4_IDENTIFIER_GROUP 0x40
#define NFS4_FLAGS_KNOWN 0xffu

/* Access mask bits (section 6.2.1.3.1): a directory's ADD_FILE,
 * ADD_SUBDIRECTORY and LIST_DIRECTORY are WRITE_DATA, APPEND_DATA and
 * READ_DATA. */
#define NFS4_READ_DATA 0x1u
#define NFS4_WRITE_DATA 0x2u
#define NFS4_APPEND_DATA 0x4u
#define NFS4_EXECUTE 0x20u
#define NFS4_DELETE_CHILD 0x40u
#define NFS4_WRITE_ACL 0x40000u
#define NFS4_WRITE_OWNER 0x80000u
/* every bit RFC 7530 and RFC 8881 define (the latter's retention bits,
 * 0x200 and 0x400, too) */
#define NFS4_MASK_KNOWN 0x1f07ffu

/* A mask bit or flag and the letter nfs4_getfacl(1) shows for it. */
struct nfs4_letter {
	unsigned bit;
	char letter;
};

/* The letters nfs4_getfacl(1) shows for mask bits and flags, in its
 * order; bits without one (the retention ones, INHERITED) cannot be
 * given to nfs4_setfacl -x. */
static const struct nfs4_letter nfs4_mask_letters[] = {
    {0x1, 'r'},     {0x2, 'w'},      {0x4, 'a'},     {0x40, 'D'},
    {0x10000, 'd'}, {0x20, 'x'},     {0x80, 't'},    {0x100, 'T'},
    {0x8, 'n'},     {0x10, 'N'},     {0x20000, 'c'}, {0x40000, 'C'},
    {0x80000, 'o'}, {0x100000, 'y'},
};
static const struct nfs4_letter nfs4_flag_letters[] = {
    {0x1, 'f'},  {0x2, 'd'},  {0x4, 'n'},  {0x8, 'i'},
    {0x10, 'S'}, {0x20, 'F'}, {0x40, 'g'},
};

/* One entry, as read. */
struct nfs4_ace {
	unsigned type, flag, mask;
	const unsigned char *who;
	size_t wholen;
};

/* The big-endian 4-byte number at p. */
static unsigned
be32_at(const unsigned char *p)
{
	return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 |
	       (unsigned)p[2] << 8 | p[3];
}

/* The entry at buf + *off (n bytes in all) into ace, *off moved past it.
 * Returns 0, -1 when it is cut short, or -2 when its principal is longer
 * than NFS4_WHO_MAX. */
static int
nfs4_ace_next(const unsigned char *buf, size_t n, size_t *off,
              struct nfs4_ace *ace)
{
	const unsigned char *p = buf + *off;
	size_t left = n - *off, len, padded;

	if (left < NFS4_ACE_HEAD)
		return -1;
	ace->type = be32_at(p);
	ace->flag = be32_at(p + 4);
	ace->mask = be32_at(p + 8);
	len = be32_at(p + 12);
	if (len > NFS4_WHO_MAX)
		return -2;
	padded = (len + 3) & ~(size_t)3;
	if (padded > left - NFS4_ACE_HEAD)
		return -1;
	ace->who = p + NFS4_ACE_HEAD;
	ace->wholen = len;
	*off += NFS4_ACE_HEAD + padded;
	return 0;
}

/* The mask bits that do perm (ACL_PERM_* bits) to a file, or to a
 * directory when is_dir: for write, its data, its ACL (and so its mode)
 * and its owner, and a directory's entries. */
static unsigned
nfs4_mask_of(unsigned perm, int is_dir)
{
	unsigned m = 0;

	if (perm & ACL_PERM_READ)
		m |= NFS4_READ_DATA;
	if (perm & ACL_PERM_WRITE)
		m |= NFS4_WRITE_DATA | NFS4_APPEND_DATA | NFS4_WRITE_ACL |
		     NFS4_WRITE_OWNER | (is_dir ? NFS4_DELETE_CHILD : 0);
	if (perm & ACL_PERM_EXEC)
		m |= NFS4_EXECUTE;
	return m;
}

/* Whether who (len bytes) is the special principal name ("OWNER@"). */
static int
who_is(const unsigned char *who, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(who, name, len) == 0;
}

/* The id of a principal of all digits (as a server that maps no names
 * sends them, Linux's for AUTH_SYS), no leading 0 but "0" itself, below
 * ACL_ID_NONE. Returns 0 with *id, or -1. */
static int
who_number(const char *who, unsigned *id)
{
	unsigned long v = 0;

	if (who[0] == '\0' || (who[0] == '0' && who[1] != '\0'))
		return -1;
	for (const char *c = who; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		v = v * 10 + (unsigned long)(*c - '0');
		if (v >= ACL_ID_NONE)
			return -1;
	}
	*id = (unsigned)v;
	return 0;
}

/*
 * The id the principal who (NUL-terminated; a group when is_group)
 * stands for, as far as it is certain: a number, or "name@domain" whose
 * name is, in the user or group database, that of root, of the running
 * user, or (a group) of root's, that user's or the file's own group (st),
 * or of a group that group_trusted() trusts (staff): the only ids that
 * are not refused anyway, or judged as the file's group. The domain is
 * not checked: the NFSv4 domain of the mount is not known here. Returns
 * the id, or ACL_ID_NONE.
 */
static unsigned
who_id(const char *who, int is_group, const struct stat *st)
{
	unsigned cand[3], id;
	size_t n = 0;
	char name[NFS4_WHO_MAX + 1];
	const char *at = strchr(who, '@');

	if (who_number(who, &id) == 0)
		return id;
	if (at == NULL || at == who || strchr(at + 1, '@') != NULL ||
	    at[1] == '\0')
		return ACL_ID_NONE;
	snprintf(name, sizeof(name), "%.*s", (int)(at - who), who);
	cand[n++] = 0;
	cand[n++] = is_group ? (unsigned)getegid() : (unsigned)geteuid();
	if (is_group)
		cand[n++] = (unsigned)st->st_gid;
	for (size_t i = 0; i < n; i++)
		if (id_named(is_group, cand[i], name))
			return cand[i];
	/* a trusted group by its name, as by its number */
	if (is_group && group_named_trusted(name, &id))
		return id;
	return ACL_ID_NONE;
}

/* The letters of the bits of v in t (nt of them) at *p, moved past
 * them. Returns the bits of v that have none. */
static unsigned
letters_put(unsigned v, const struct nfs4_letter *t, size_t nt, char **p)
{
	unsigned left = v;

	for (size_t i = 0; i < nt; i++)
		if (v & t[i].bit) {
			*(*p)++ = t[i].letter;
			left &= ~t[i].bit;
		}
	return left;
}

/*
 * The entry ace, its principal who (printable), as nfs4_getfacl(1) shows
 * it ("A:g:deploy@example.com:rwaxtcy") into spec (size bytes). Returns
 * whether nfs4_setfacl -x would take it so: every bit with a letter, and
 * the whole principal, of no character that a shell or the spec would
 * read otherwise.
 */
static int
nfs4_spec_put(const struct nfs4_ace *ace, const char *who, char *spec,
              size_t size)
{
	char flags[32], mask[32], *f = flags, *m = mask;
	unsigned fleft, mleft;
	int exact;

	fleft = letters_put(
	    ace->flag, nfs4_flag_letters,
	    sizeof(nfs4_flag_letters) / sizeof(nfs4_flag_letters[0]), &f);
	mleft = letters_put(
	    ace->mask, nfs4_mask_letters,
	    sizeof(nfs4_mask_letters) / sizeof(nfs4_mask_letters[0]), &m);
	*f = *m = '\0';
	/* bits without a letter shown as a number, not hidden; but
	 * nfs4_setfacl -x takes no such spec */
	if (fleft != 0)
		snprintf(f, sizeof(flags) - (size_t)(f - flags), "+0x%x",
		         fleft);
	if (mleft != 0)
		snprintf(m, sizeof(mask) - (size_t)(m - mask), "+0x%x", mleft);
	exact = strlen(who) == ace->wholen && fleft == 0 && mleft == 0;
	for (const char *c = who; *c != '\0'; c++)
		exact &= (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		         (*c >= '0' && *c <= '9') || strchr("@._-", *c) != NULL;
	snprintf(spec, size, "A:%s:%s:%s", flags, who, mask);
	return exact;
}

/*
 * Count the allowing entry i of ace, whose principal who (printable; id
 * when one is known, else ACL_ID_NONE; a set of users when everyone) is
 * not passed over, in aw: the first is named's.
 */
static void
nfs4_named_add(unsigned i, const struct nfs4_ace *ace, const char *who,
               unsigned id, int everyone, struct acl_who *aw)
{
	if (aw->named_count++ > 0)
		return;
	aw->named = 1;
	aw->named_is_group = (ace->flag & NFS4_IDENTIFIER_GROUP) != 0;
	aw->named_id = id;
	aw->nfs4_everyone = everyone;
	str_copy(aw->nfs4_who, sizeof(aw->nfs4_who), who);
	aw->nfs4_spec_exact =
	    nfs4_spec_put(ace, who, aw->nfs4_spec, sizeof(aw->nfs4_spec));
	aw->nfs4_entry = i;
}

/*
 * Count the allowing entry i of ace, GROUP@ or one naming the file's own
 * group (who, printable), as the group's in aw (aw->group), the first
 * kept (aw->nfs4_group_entry, its spec): that is the entry to take out,
 * where the mode's group bits need not show it.
 */
static void
nfs4_group_add(unsigned i, const struct nfs4_ace *ace, const char *who,
               struct acl_who *aw)
{
	aw->group = 1;
	if (aw->nfs4_group_entry != 0)
		return;
	aw->nfs4_group_entry = i;
	aw->nfs4_group_exact = nfs4_spec_put(ace, who, aw->nfs4_group_spec,
	                                     sizeof(aw->nfs4_group_spec));
}

/*
 * Judge entry i (ace, an ALLOW entry that applies to the file itself and
 * grants some of want) of the ACL of a file whose status is st into aw:
 * OWNER@ is the owner's; GROUP@, or a group entry of the file's own
 * group, the group's; any other special principal (EVERYONE@,
 * AUTHENTICATED@...) a set of users, never passed over; a named one
 * passed over only when its id is known for certain and pass() says so.
 */
static void
nfs4_ace_judge(unsigned i, const struct nfs4_ace *ace, const struct stat *st,
               int (*pass)(int, unsigned), struct acl_who *aw)
{
	int is_group = (ace->flag & NFS4_IDENTIFIER_GROUP) != 0;
	char raw[NFS4_WHO_MAX + 1], who[sizeof(aw->nfs4_who)];
	unsigned id;

	if (who_is(ace->who, ace->wholen, "OWNER@"))
		return;
	str_printable((const char *)ace->who, ace->wholen, who, sizeof(who));
	if (who_is(ace->who, ace->wholen, "GROUP@")) {
		nfs4_group_add(i, ace, who, aw);
		return;
	}
	if (ace->wholen > 0 && ace->who[ace->wholen - 1] == '@') {
		nfs4_named_add(i, ace, who, ACL_ID_NONE, 1, aw);
		return;
	}
	/* a NUL inside is no name a lookup may see */
	if (memchr(ace->who, '\0', ace->wholen) != NULL)
		id = ACL_ID_NONE;
	else {
		memcpy(raw, ace->who, ace->wholen);
		raw[ace->wholen] = '\0';
		id = who_id(raw, is_group, st);
	}
	if (id != ACL_ID_NONE && is_group && id == (unsigned)st->st_gid) {
		nfs4_group_add(i, ace, who, aw);
		return;
	}
	if (id != ACL_ID_NONE && pass != NULL && pass(is_group, id))
		return;
	nfs4_named_add(i, ace, who, id, 0, aw);
}

/* Say why an NFSv4 ACL is not understood (fmt...) in aw. Returns -1
 * with errno EBADMSG. */
static int __attribute__((format(printf, 2, 3)))
nfs4_bad(struct acl_who *aw, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(aw->nfs4_bad, sizeof(aw->nfs4_bad), fmt, ap);
	va_end(ap);
	errno = EBADMSG;
	return -1;
}

int
acl_nfs4_judge(const unsigned char *buf, size_t n, const struct stat *st,
               unsigned perm, int (*pass)(int is_group, unsigned id),
               struct acl_who *aw)
{
	unsigned want = nfs4_mask_of(perm, S_ISDIR(st->st_mode)), count;
	int group = aw->group;
	struct nfs4_ace ace;
	size_t off = 4;

	memset(aw, 0, sizeof(aw[0]));
	aw->group = group;
	aw->nfs4 = aw->acl = 1;
	if (n < 4)
		return nfs4_bad(aw,
		                "an NFSv4 ACL of %zu bytes, too short for "
		                "its count of entries",
		                n);
	count = be32_at(buf);
	/* the shortest entry is NFS4_ACE_HEAD bytes */
	if (count > (n - 4) / NFS4_ACE_HEAD)
		return nfs4_bad(aw,
		                "an NFSv4 ACL that counts %u entries in %zu "
		                "bytes",
		                count, n);
	if (count > ACL_ENTRIES_MAX) {
		aw->entries = count;
		errno = E2BIG;
		return -1;
	}
	for (unsigned i = 1; i <= count; i++) {
		int rc = nfs4_ace_next(buf, n, &off, &ace);

		if (rc < 0)
			return nfs4_bad(aw, "NFSv4 ACL entry %u %s", i,
			                rc == -1 ? "is cut short"
			                         : "names a principal longer "
			                           "than 255 bytes");
		if (ace.type > NFS4_ALARM)
			return nfs4_bad(aw,
			                "NFSv4 ACL entry %u is of unknown "
			                "type %u",
			                i, ace.type);
		if (ace.flag & ~NFS4_FLAGS_KNOWN)
			return nfs4_bad(aw,
			                "NFSv4 ACL entry %u has unknown "
			                "flags 0x%x",
			                i, ace.flag & ~NFS4_FLAGS_KNOWN);
		/* DENY only takes away; AUDIT and ALARM grant nothing; an
		 * INHERIT_ONLY entry is for what is made in a directory */
		if (ace.type != NFS4_ALLOW || (ace.flag & NFS4_INHERIT_ONLY) ||
		    (ace.mask & (want | ~NFS4_MASK_KNOWN)) == 0)
			continue;
		nfs4_ace_judge(i, &ace, st, pass, aw);
	}
	if (off != n)
		return nfs4_bad(aw,
		                "%zu bytes after the %u entries of an "
		                "NFSv4 ACL",
		                n - off, count);
	return 0;
}
