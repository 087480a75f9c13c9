-- Demo step 4: train the network as a background job and watch it; the job survives this session.
\pset footer off
SELECT * FROM demo_settings \gset

-- The published recipe (voets2019_plos) with Adam, per-image standardisation and no augmentation, which
-- learn the synthetic task in a few epochs; the published RMSProp, symmetric inputs and hue/saturation
-- augmentation need many more.
SELECT screen.train('demo_dr',
    $$SELECT img, grade >= 2 FROM screening WHERE split = 'train' ORDER BY id$$,
    $$SELECT img, grade >= 2 FROM screening WHERE split = 'tune' ORDER BY id$$,
    jsonb_build_object('recipe', 'voets2019_plos', 'architecture', :'architecture', 'input_size', :side,
                       'optimizer', 'adam', 'learning_rate', 0.003, 'normalization', 'standardize',
                       'augmentation', false, 'batch_size', 32, 'max_epochs', CASE WHEN :'device' = 'cpu' THEN 16 ELSE 30 END,
                       'patience', 4, 'seed', 2018)) AS job \gset
SELECT set_config('demo.job', :'job', false);

-- The job runs in its own worker; this session just reads screen.jobs every few seconds.
DO $$
DECLARE
    job bigint := current_setting('demo.job')::bigint;
    j record;
BEGIN
    LOOP
        SELECT * INTO j FROM screen.jobs WHERE id = job;
        RAISE NOTICE 'job %: %, epoch %/%, batch %/%, %/s, loss %, best validation AUC % (epoch %)',
            job, j.state || coalesce(' (' || j.phase || ')', ''), coalesce(j.epoch, 0), j.max_epochs, coalesce(j.step, 0),
            coalesce(j.steps_per_epoch, 0), coalesce(round(j.images_per_second)::text, '-'),
            coalesce(round(j.loss::numeric, 4)::text, '-'),
            coalesce(round(j.best_validation_auc::numeric, 3)::text, '-'), coalesce(j.best_epoch, 0);
        EXIT WHEN j.state IN ('succeeded', 'failed', 'cancelled');
        PERFORM pg_sleep(5);
    END LOOP;
END
$$;
SELECT state, error FROM screen.jobs WHERE id = :job;

-- One row per epoch: training loss, validation AUC with its DeLong 95 % CI, and the checkpoints kept.
SELECT epoch, round(loss::numeric, 4) AS loss, round(validation_loss::numeric, 4) AS validation_loss,
       round(auc::numeric, 3) AS auc, round(auc_lower::numeric, 3) AS lower, round(auc_upper::numeric, 3) AS upper,
       round(images_per_second) AS images_per_s, improved AS checkpoint
FROM screen.training_log WHERE job_id = :job ORDER BY epoch;

-- The model: the best epoch, with everything that reproduces it.
SELECT name || ':' || version AS model, architecture, input_height AS side, normalization,
       metrics->>'best_epoch' AS best_epoch, round((metrics->>'validation_auc')::numeric, 3) AS validation_auc,
       recipe->>'seed' AS seed, recipe->'software'->>'device' AS trained_on
FROM screen.models WHERE name = 'demo_dr';
