#ifndef PDS_TEST_CHILD_PROCESS_H
#define PDS_TEST_CHILD_PROCESS_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (NULL-terminated) through
/// posix_spawn. The child's standard input, output and error are `in_fd`,
/// `out_fd` and `err_fd`; every other descriptor of the parent is closed in
/// the child (closefrom), so a child never holds another child's pipe open.
/// `directory`, when not NULL, is the child's working directory.
/// Returns 0 and sets `*pid`, or an errno value.
int pds_test_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                   int in_fd, int out_fd, int err_fd, const char *directory);

/// pipe2 with O_CLOEXEC: neither end leaks into children started meanwhile.
int pds_test_pipe(int fds[2]);

#endif
