/* fuzz-config.c - odbk.conf's parser (odbk_config_parse_text) and the [env] sections' reading
 * (odbk_config_env) on whatever text it accepts. */
#include "fuzz/fuzz.h"

#include "config/config.h"

FUZZ_TARGET(config)
{
    struct odbk_config *cfg = NULL;
    struct odbk_err err = {0};
    if (odbk_config_parse_text((const char *)data, size, "fuzz.conf", &cfg, &err) < 0)
        return 0;
    const char **names = NULL;
    size_t n = odbk_config_env_names(cfg, &names);
    for (size_t i = 0; i < n; i++) {
        struct odbk_env env = {0};
        struct odbk_err e2 = {0};
        if (odbk_config_env(cfg, names[i], &env, &e2) == 0)
            odbk_env_release(&env);
    }
    free(names);
    odbk_config_free(cfg);
    return 0;
}
