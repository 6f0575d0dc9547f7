# bash completion for the odbk programs.  Options come from each program itself
# (--completion-helper prints its option table), so completion never drifts from --help.
# Environments and storages come from the config (odbk-policy check knows where it is).

_odbk_conf_sections() {
    local kind=$1 conf=${ODBK_CONFIG:-}
    [ -n "$conf" ] || for conf in "${XDG_CONFIG_HOME:-$HOME/.config}/odbk/odbk.conf" /etc/odbk/odbk.conf; do
        [ -r "$conf" ] && break
    done
    [ -r "$conf" ] && sed -n "s/^[[:space:]]*\[$kind[[:space:]]\+\([^]]*\)\].*/\1/p" "$conf" 2>/dev/null
}

_odbk() {
    local cur prev prog=${COMP_WORDS[0]##*/}
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
        --config|-c|--catalog|--times|--output|--from-file|--filestore)
            COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --storage|-s)
            COMPREPLY=($(compgen -W "$(_odbk_conf_sections storage)" -- "$cur")); return ;;
        --to|--latest|--env|-e)
            COMPREPLY=($(compgen -W "$(_odbk_conf_sections env)" -- "$cur")); return ;;
        --type|-t)
            COMPREPLY=($(compgen -W "manual scheduled pre-restore pre-upgrade pre-destroy" -- "$cur")); return ;;
        --retention|-r)
            COMPREPLY=($(compgen -W "daily weekly monthly yearly permanent" -- "$cur")); return ;;
        --compress) COMPREPLY=($(compgen -W "gzip zstd" -- "$cur")); return ;;
        --format|-f) COMPREPLY=($(compgen -W "odbk zip dump" -- "$cur")); return ;;
        --status) COMPREPLY=($(compgen -W "pending in_progress uploading completed failed expired" -- "$cur")); return ;;
        --progress) COMPREPLY=($(compgen -W "auto bar json none" -- "$cur")); return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$("$prog" --completion-helper 2>/dev/null | sed 's/=$//')" -- "$cur"))
        return
    fi
    case $prog in
        odbk-policy)
            if [ "$COMP_CWORD" = 1 ]; then
                COMPREPLY=($(compgen -W "show check plan due next" -- "$cur")); return
            fi ;;
    esac
    COMPREPLY=($(compgen -W "$(_odbk_conf_sections env)" -- "$cur"))
}

complete -F _odbk odbk-create odbk-restore odbk-list odbk-prune odbk-download odbk-policy odbk-compliance
