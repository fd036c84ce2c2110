/* A PAM application with a hostile conversation, for the tests in main.rs.
 *
 *   hostile_conv SERVICE USER OPERATION MODE < password
 *
 * OPERATION: chauthtok or acct_mgmt. MODE says how password prompts
 * (PAM_PROMPT_ECHO_OFF) are answered; other messages are printed:
 *   plain    the password, the first line of standard input (may be empty)
 *   big      the password followed by 1 MiB of 'x'
 *   badutf8  the password with the byte 0xff in front
 *   converr  the conversation fails (PAM_CONV_ERR)
 *   noresp   PAM_SUCCESS but no response array at all
 *   nullresp a response array whose answer is a null pointer
 * It prints every message it is shown ("ERROR: ", "INFO: ", "PROMPT: "),
 * then "RESULT: <pam code> <pam_strerror>" and "MAXRSS_KB: <peak RSS, VmHWM>".
 * With a sixth argument "stop", it then ends PAM, wipes its own copy of
 * the password, prints "STOPPED" and stops itself (SIGSTOP), so that a
 * test can look for the password in what is left of its memory.
 */
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

static const char *mode;
static char password[4096];

static char *answer(void) {
    size_t n = strlen(password);
    if (strcmp(mode, "big") == 0) {
        size_t extra = 1024 * 1024;
        char *s = malloc(n + extra + 1);
        if (!s) return NULL;
        memcpy(s, password, n);
        memset(s + n, 'x', extra);
        s[n + extra] = '\0';
        return s;
    }
    if (strcmp(mode, "badutf8") == 0) {
        char *s = malloc(n + 2);
        if (!s) return NULL;
        s[0] = (char)0xff;
        memcpy(s + 1, password, n + 1);
        return s;
    }
    return strdup(password);
}

static int conv(int num, const struct pam_message **msg, struct pam_response **resp, void *data) {
    (void)data;
    if (strcmp(mode, "converr") == 0) return PAM_CONV_ERR;
    int asked = 0;
    for (int i = 0; i < num; i++) {
        switch (msg[i]->msg_style) {
        case PAM_ERROR_MSG: printf("ERROR: %s\n", msg[i]->msg); break;
        case PAM_TEXT_INFO: printf("INFO: %s\n", msg[i]->msg); break;
        default: printf("PROMPT: %s\n", msg[i]->msg); asked = 1; break;
        }
    }
    if (!asked) { *resp = NULL; return PAM_SUCCESS; }
    if (strcmp(mode, "noresp") == 0) { *resp = NULL; return PAM_SUCCESS; }
    struct pam_response *r = calloc((size_t)num, sizeof *r);
    if (!r) return PAM_BUF_ERR;
    for (int i = 0; i < num; i++) {
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
            r[i].resp = strcmp(mode, "nullresp") == 0 ? NULL : answer();
    }
    *resp = r;
    return PAM_SUCCESS;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s SERVICE USER chauthtok|acct_mgmt MODE < password\n", argv[0]);
        return 2;
    }
    mode = argv[4];
    /* Never in argv: read from standard input, without stdio's buffer
     * (which would keep a copy this program does not wipe). */
    size_t got = 0;
    while (got < sizeof password - 1) {
        ssize_t n = read(0, password + got, 1);
        if (n <= 0 || password[got] == '\n') break;
        got++;
    }
    password[got] = '\0';
    struct pam_conv c = { conv, NULL };
    pam_handle_t *h = NULL;
    int rc = pam_start(argv[1], argv[2], &c, &h);
    if (rc == PAM_SUCCESS)
        rc = strcmp(argv[3], "acct_mgmt") == 0 ? pam_acct_mgmt(h, 0) : pam_chauthtok(h, 0);
    printf("RESULT: %d %s\n", rc, pam_strerror(h, rc));
    /* VmHWM, not getrusage: ru_maxrss keeps the peak of the process
     * image before execve (a big test harness that forked this one). */
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    while (status && fgets(line, sizeof line, status))
        if (strncmp(line, "VmHWM:", 6) == 0) printf("MAXRSS_KB: %ld\n", strtol(line + 6, NULL, 10));
    if (status) fclose(status);
    fflush(stdout);
    pam_end(h, rc);
    if (argc > 5 && strcmp(argv[5], "stop") == 0) {
        explicit_bzero(password, sizeof password);
        printf("STOPPED\n");
        fflush(stdout);
        raise(SIGSTOP);
    }
    return rc == PAM_SUCCESS ? 0 : 1;
}
