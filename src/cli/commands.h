/* The subcommands of the `paygate` binary. Each takes the arguments after its name
 * (argv[0] is the subcommand's name), handles --help itself, and returns the exit status. */
#ifndef PAY_CLI_COMMANDS_H
#define PAY_CLI_COMMANDS_H

struct pay_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/* The commands of src/cli; each module declares its own (pay_cmd_bank in bank/bank.h, ...):
 * the binary calls down into the modules, never the other way round. */
int pay_cmd_errors(int argc, char **argv);
int pay_cmd_demo(int argc, char **argv);

#endif
