"""nbval runs these notebooks on the bundled sample data: they must not pick up a real config."""

import os

# The kernels nbval starts inherit this process's environment; with WORKBENCH_CONFIG set the
# notebooks would work on that config (and the schedule notebook would edit it).
os.environ.pop("WORKBENCH_CONFIG", None)
