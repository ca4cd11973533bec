#define _GNU_SOURCE 1
#include "child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

int pds_test_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                   int in_fd, int out_fd, int err_fd, const char *directory) {
    posix_spawn_file_actions_t actions;
    int status = posix_spawn_file_actions_init(&actions);
    if (status != 0) return status;
    int sources[3] = {in_fd, out_fd, err_fd};
    for (int target = 0; target < 3 && status == 0; target++) {
        // dup2 onto itself would keep FD_CLOEXEC set; the child needs it cleared,
        // which posix_spawn does for dup2 actions whose source and target differ.
        if (sources[target] != target) {
            status = posix_spawn_file_actions_adddup2(&actions, sources[target], target);
        }
    }
    if (status == 0) status = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (status == 0 && directory != NULL) status = posix_spawn_file_actions_addchdir_np(&actions, directory);
    if (status == 0) status = posix_spawn(pid, path, &actions, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    return status;
}

int pds_test_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno;
}
