/* How much memory this process may still allocate on its node, for start-up checks that would
 * otherwise end in the kernel's OOM killer (Linux overcommits: a huge malloc succeeds and the process
 * dies later, without a message).
 *
 * The answer is the smaller of /proc/meminfo's MemAvailable and, on a batch system that confines the
 * job in a cgroup (Slurm's --mem, PBS's mem), the tightest limit of this process's cgroup and its
 * ancestors minus their usage (cgroup v2 memory.max / memory.current, v1 memory.limit_in_bytes /
 * memory.usage_in_bytes).  That memory is shared by every process of the job on the node. */
#ifndef MIXPHM_BASE_SYSMEM_H
#define MIXPHM_BASE_SYSMEM_H

/* Bytes, or -1 when nothing could be read (not Linux). */
long long sysmem_available(void);

/* The cgroup part alone: the tightest (limit - usage) over the cgroup `path` ("/a/b") and its
 * ancestors under the hierarchy mounted at `root`, with v2 (`v2` = 1) or v1 file names; -1 when no
 * level sets a limit.  Exposed for the tests, which build a fake hierarchy. */
long long sysmem_cgroup_room(const char *root, const char *path, int v2);

#endif
