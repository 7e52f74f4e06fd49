/* The daily clearing and settlement (docs/switch.md): at the cut-off the switch writes a
 * signed clearing file for each member and settles the net positions through the members'
 * settlement accounts. */
#include "switch/switch.h"

void pay_switch_clearing_run(struct pay_switch *sw)
{
    (void)sw; /* stage 4 */
}
