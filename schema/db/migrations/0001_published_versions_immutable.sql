-- A published profile version is frozen: the API answers 409 before it gets
-- here, and this makes the rule hold for every writer. (Deletes stay possible
-- so removing an org or profile can cascade.)
CREATE FUNCTION airlock_forbid_published_version_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'published' THEN
    RAISE EXCEPTION 'profile version % is published and immutable', OLD.id
      USING ERRCODE = 'AL409', HINT = 'edit the draft version and publish it';
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER profile_versions_published_immutable
  BEFORE UPDATE ON profile_versions
  FOR EACH ROW EXECUTE FUNCTION airlock_forbid_published_version_change();
