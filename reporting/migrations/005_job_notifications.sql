-- Every new job and every change of one is announced on the channel ctg_report_jobs (payload:
-- the job's id) when its transaction commits: idle workers claim a new job at once and watchers
-- see a change at once (reporting/job_notifier.h); polling stays the fallback.
CREATE FUNCTION announce_report_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ctg_report_jobs', NEW.id::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER report_jobs_announce AFTER INSERT OR UPDATE ON report_jobs
  FOR EACH ROW EXECUTE FUNCTION announce_report_job();
