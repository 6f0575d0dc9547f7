# bash completion for the odbk programs.  Every answer comes from the program itself:
# `PROG --completion-helper -- WORD... CURRENT` prints what may replace the current word (the options,
# an option's values, env and storage names from the config the line names with --config, backup ids
# from the catalog, odbk-policy's subcommands; ":file"/":dir" for paths), so completion never drifts
# from the option tables (lib/cli/cli.h).  The zsh completion (completions/_odbk) asks the same.

_odbk() {
    local cur=${COMP_WORDS[COMP_CWORD]} out
    out=$("${COMP_WORDS[0]}" --completion-helper -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    case $out in
        :file) COMPREPLY=($(compgen -f -- "$cur")) ;;
        :dir) COMPREPLY=($(compgen -d -- "$cur")) ;;
        *) COMPREPLY=($(compgen -W "$out" -- "$cur")) ;;
    esac
}

complete -F _odbk odbk-create odbk-restore odbk-list odbk-prune odbk-download odbk-policy odbk-compliance
