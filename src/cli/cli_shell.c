/*
 * cli_shell — the interactive prompt: GNU readline for line editing,
 * history and tab completion (commands, phone-system and interface names
 * fetched from the API).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "../core/core_version.h"
#include "cli.h"

#define CLI_MAX_WORDS 64

static struct cli *shell_cli;
static char **shell_matches;
static size_t shell_next;

static char *shell_generate(const char *text, int state)
{
	(void)text;
	if (!shell_matches || !shell_matches[shell_next]) {
		if (state == 0 || shell_matches) {
			/* done: the list is freed on the next completion */
		}
		return NULL;
	}
	return strdup(shell_matches[shell_next++]);
}

static char **shell_complete(const char *text, int start, int end)
{
	(void)end;
	char *before = strndup(rl_line_buffer, (size_t)start);
	char *words[CLI_MAX_WORDS];
	int n = before ? cli_split(before, CLI_MAX_WORDS, words) : -1;
	free(before);
	rl_attempted_completion_over = 1; /* never fall back to file names */
	if (n < 0)
		return NULL;
	if (shell_matches) {
		for (size_t i = 0; shell_matches[i]; i++)
			free(shell_matches[i]);
		free(shell_matches);
	}
	shell_matches = cli_complete(shell_cli, n, words, text);
	shell_next = 0;
	cli_free_words(n, words);
	return rl_completion_matches(text, shell_generate);
}

static void shell_on_sigint(int sig)
{
	(void)sig;
	/* Ctrl-C drops the line being typed, as in a shell. */
	printf("\n");
	rl_on_new_line();
	rl_replace_line("", 0);
	rl_redisplay();
}

int cli_shell(struct cli *c)
{
	shell_cli = c;
	c->interactive = true;
	rl_readline_name = "zentrale";
	rl_attempted_completion_function = shell_complete;
	rl_catch_signals = 0;
	signal(SIGINT, shell_on_sigint);
	printf("Zentrale %s. Type help for the commands, Tab to complete, exit to leave.\n",
	       ZENTRALE_VERSION);
	int rc = CLI_OK;
	char *line;
	while ((line = readline("zentrale> "))) {
		char *words[CLI_MAX_WORDS];
		int n = cli_split(line, CLI_MAX_WORDS, words);
		if (n > 0)
			add_history(line);
		free(line);
		if (n < 0) {
			fprintf(stderr, "error: unbalanced quotes\n");
			continue;
		}
		if (n == 0)
			continue;
		if (strcmp(words[0], "exit") == 0 || strcmp(words[0], "quit") == 0) {
			cli_free_words(n, words);
			break;
		}
		bool json = c->json;
		rc = cli_exec(c, n, words);
		c->json = json; /* --json applies to one command */
		cli_free_words(n, words);
		fflush(stdout);
		if (c->removed) {
			fprintf(stderr,
				"your administrator account has been removed; the session ends\n");
			break;
		}
	}
	if (!line)
		printf("\n");
	if (shell_matches) {
		for (size_t i = 0; shell_matches[i]; i++)
			free(shell_matches[i]);
		free(shell_matches);
	}
	clear_history();
	(void)rc;
	return CLI_OK;
}
