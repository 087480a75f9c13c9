-- Devices: the pgscreen.device setting, current_device(), device_info() and the CUDA module path setting.
-- Only what holds on every machine is pinned here; GPU-present and GPU-absent behaviour is in test/t.
SHOW pgscreen.device;

SET pgscreen.device = 'cpu';
SELECT screen.current_device();
SELECT device, kind, selected, total_memory_mb > 0 AS has_memory, multiprocessors > 0 AS has_cores
FROM screen.device_info() WHERE kind = 'cpu';

-- every row is complete for its kind
SELECT count(*) FILTER (WHERE kind = 'cpu') AS cpu_rows,
       count(*) FILTER (WHERE kind = 'cuda' AND (name IS NULL OR compute_capability IS NULL
                                                 OR cudnn_version IS NULL)) AS incomplete_gpu_rows,
       count(*) FILTER (WHERE selected) AS selected_rows
FROM screen.device_info();

-- with no GPU, the CPU row says why; with GPUs, it does not
SELECT (SELECT count(*) FROM screen.device_info() WHERE kind = 'cuda') > 0
       OR (SELECT detail LIKE 'no GPU is usable: %' FROM screen.device_info() WHERE kind = 'cpu')
       AS cpu_row_explains;

-- invalid values are refused when set
SET pgscreen.device = 'gpu';
SET pgscreen.device = 'cuda:64';
SET pgscreen.device = 'cuda:x';
SET pgscreen.device = 'cuda:';
SET pgscreen.device = 'cuda:1';
SHOW pgscreen.device;
RESET pgscreen.device;

-- only superusers choose which shared library is loaded
CREATE ROLE pgscreen_regress_user;
SET ROLE pgscreen_regress_user;
SET pgscreen.cuda_module = '/tmp/evil.so';
SELECT device FROM screen.device_info() WHERE kind = 'cpu';
RESET ROLE;
DROP ROLE pgscreen_regress_user;
