#include "e2e_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "common/auth.h"
#include "common/testing/test_database.h"
#include "common/testing/test_host.h"
#include "grpc/health/v1/health.grpc.pb.h"

extern char** environ;

namespace ctg::e2e {

const char kJwtKey[] = "e2e-test-key-0123456789-abcdefghij-0123456789";
const char kIssuer[] = "ctg-e2e";
const char kAudience[] = "ctg";

namespace {

// argv/envp arrays for execve, built before fork (the child may only call async-signal-safe
// functions).
struct ExecArrays {
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;

  ExecArrays(const std::vector<std::string>& args, const std::vector<std::string>& env)
      : argv_storage(args), env_storage(env) {
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
};

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Forks and execs; the child's stdin/stdout/stderr come from the given descriptors.
pid_t Spawn(const ExecArrays& exec, int in_fd, int out_fd, int err_fd) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // A test killed by its timeout must not leave services running (holding ports and
    // databases): the child is killed when the thread that spawned it ends. Tests spawn from
    // their main thread.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent was already gone
    // The test process blocks no signal the child should see, but a blocked mask is inherited.
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execve(exec.argv[0], exec.argv.data(), exec.envp.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/ctg-e2e.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

EmptyDatabase::EmptyDatabase() {
  const char* admin = std::getenv("CTG_TEST_ADMIN_URL");
  admin_url_ = admin != nullptr ? admin : "dbname=postgres";
  std::random_device rd;
  name_ = "ctg_e2e_" + std::to_string(getpid()) + "_" + std::to_string(rd() % 1000000);
  pqxx::connection conn(admin_url_);
  pqxx::nontransaction tx(conn);
  tx.exec("CREATE DATABASE " + tx.quote_name(name_));
  url_ = admin_url_ + " dbname=" + name_;
}

EmptyDatabase::~EmptyDatabase() {
  try {
    pqxx::connection conn(admin_url_);
    pqxx::nontransaction tx(conn);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The throwaway cluster of `./ctg test` goes away anyway.
  }
}

std::vector<std::string> CleanEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "CTG_", 4) != 0) env.emplace_back(*e);
  }
  return env;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + path);
  const bool ok = write(fd, content.data(), content.size()) == ssize_t(content.size());
  close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path);
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         const std::string& input, std::chrono::seconds timeout) {
  TempDir dir;
  WriteFile(dir.File("stdin"), input);
  const int in_fd = open(dir.File("stdin").c_str(), O_RDONLY | O_CLOEXEC);
  const int out_fd = open(dir.File("stdout").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  const int err_fd = open(dir.File("stderr").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) throw std::runtime_error("cannot open temp files");
  ExecArrays exec(argv, env);
  const pid_t pid = Spawn(exec, in_fd, out_fd, err_fd);
  close(in_fd);
  close(out_fd);
  close(err_fd);
  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  result.exit_code = DecodeWaitStatus(status);
  result.out = ReadFile(dir.File("stdout"));
  result.err = ReadFile(dir.File("stderr"));
  return result;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::vector<std::string>& env, const std::string& log_path) {
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) throw std::runtime_error("cannot open " + log_path);
  ExecArrays exec(argv, env);
  pid_ = Spawn(exec, null_fd, log_fd, log_fd);
  close(log_fd);
  close(null_fd);
}

ChildProcess::~ChildProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    WaitExit(std::chrono::seconds(10));
  }
}

void ChildProcess::Signal(int sig) {
  if (!exit_code_) kill(pid_, sig);
}

std::optional<int> ChildProcess::WaitExit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_code_) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = DecodeWaitStatus(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

CommandResult RunCtgctl(const std::vector<std::string>& args, const std::vector<std::string>& env,
                        const std::string& input) {
  std::vector<std::string> argv = {CTGCTL_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> full_env = CleanEnvironment();
  full_env.insert(full_env.end(), env.begin(), env.end());
  return RunCommand(argv, full_env, input, std::chrono::seconds(120));
}

bool WaitForLockWaiters(const EmptyDatabase& db, int count, std::chrono::milliseconds timeout) {
  pqxx::connection watcher(db.url());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pqxx::nontransaction tx(watcher);
    const int waiting = tx.exec_params1(
                              "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND "
                              "wait_event_type = 'Lock'",
                              db.name())[0]
                            .as<int>();
    if (waiting >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool ChildProcess::running() { return !WaitExit(std::chrono::milliseconds(0)).has_value(); }

std::pair<int, int> WaitForPortFile(ChildProcess& process, const std::string& port_file,
                                    const std::string& log_file, const std::string& name) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    const std::string ports = ReadFile(port_file);
    if (!ports.empty() && ports.back() == '\n') {
      std::istringstream in(ports);
      int grpc_port = 0, metrics_port = 0;
      in >> grpc_port >> metrics_port;
      if (grpc_port > 0) return {grpc_port, metrics_port};
    }
    if (!process.running()) {
      throw std::runtime_error(name + " ended (status " + std::to_string(*process.WaitExit({})) +
                               "): " + ReadFile(log_file));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(name + " wrote no port file within 30 s: " + ReadFile(log_file));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ServiceProcess::ServiceProcess(const std::string& binary, const std::string& name,
                               const std::string& database_url,
                               const std::vector<std::string>& extra_flags, bool hs256_key) {
  WriteFile(key_file(), std::string(kJwtKey) + "\n");
  std::vector<std::string> argv = {binary, "--listen=127.0.0.1:0", "--metrics-listen=127.0.0.1:0",
                                   // As deployed: the schema's owner migrates, calls run
                                   // as a role with only the privileges granted to it.
                                   "--owner-database-url=" + database_url,
                                   "--database-url=" + ctg::testing::RuntimeRoleUrl(database_url),
                                   std::string("--jwt-issuer=") + kIssuer,
                                   std::string("--jwt-audience=") + kAudience,
                                   "--port-file=" + dir_.File("ports")};
  if (hs256_key) argv.push_back("--jwt-key-file=" + key_file());
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  process_ = std::make_unique<ChildProcess>(argv, CleanEnvironment(), dir_.File("service.log"));
  std::tie(grpc_port_, metrics_port_) =
      WaitForPortFile(*process_, dir_.File("ports"), dir_.File("service.log"), name);
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

bool ServiceProcess::WaitForLog(const std::string& text, std::chrono::milliseconds timeout) const {
  return ctg::testing::WaitFor([&] { return log().find(text) != std::string::npos; }, timeout);
}

namespace {
std::vector<std::string> WithBackends(const std::string& partners_address,
                                      std::vector<std::string> flags) {
  flags.insert(flags.begin(), "--backends=partners=" + partners_address);
  return flags;
}
}  // namespace

ActionPlanProcess::ActionPlanProcess(const std::string& database_url,
                                     const std::string& partners_address,
                                     const std::vector<std::string>& extra_flags, bool hs256_key)
    : ServiceProcess(CTG_ACTION_PLAN_BINARY, "ctg-action-plan", database_url,
                     WithBackends(partners_address, extra_flags), hs256_key) {}

PgbenchResult RunPgbench(const std::string& url, const std::vector<std::string>& args,
                         int seconds_budget) {
  std::string bin = "/usr/bin/pgbench";
  for (const char* v : {"15", "16", "14"}) {
    const std::string candidate = std::string("/usr/lib/postgresql/") + v + "/bin/pgbench";
    if (std::ifstream(candidate)) bin = candidate;
  }
  std::vector<std::string> argv = {bin};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);  // pgbench takes the database as a connection string
  const CommandResult run =
      RunCommand(argv, CleanEnvironment(), "", std::chrono::seconds(seconds_budget));
  PgbenchResult result;
  result.exit_code = run.exit_code;
  if (run.exit_code != 0) {
    result.error = run.err;
    return result;
  }
  const auto tps = run.out.find("tps = ");
  const auto latency = run.out.find("latency average = ");
  if (tps != std::string::npos) result.tps = std::atof(run.out.c_str() + tps + 6);
  if (latency != std::string::npos) result.latency_ms = std::atof(run.out.c_str() + latency + 18);
  return result;
}

std::string LineValue(const std::string& text, const std::string& label) {
  const auto at = text.find(label);
  if (at == std::string::npos) return "";
  const auto end = text.find('\n', at);
  return text.substr(at + label.size(), end - at - label.size());
}

IndicatorsProcess::IndicatorsProcess(const std::string& database_url,
                                     const std::string& partners_address,
                                     const std::vector<std::string>& extra_flags, bool hs256_key)
    : ServiceProcess(CTG_INDICATORS_BINARY, "ctg-indicators", database_url,
                     WithBackends(partners_address, extra_flags), hs256_key) {}

ConsentsProcess::ConsentsProcess(const std::string& database_url,
                                 const std::string& partners_address,
                                 const std::vector<std::string>& extra_flags, bool hs256_key)
    : ServiceProcess(CTG_CONSENTS_BINARY, "ctg-consents", database_url,
                     WithBackends(partners_address, extra_flags), hs256_key) {}

namespace {
std::vector<std::string> WithBackendMap(const std::map<std::string, std::string>& backends,
                                        std::vector<std::string> flags) {
  std::string list;
  for (const auto& [name, address] : backends) {
    list += (list.empty() ? "" : ",") + name + "=" + address;
  }
  flags.insert(flags.begin(), "--backends=" + list);
  return flags;
}
}  // namespace

ReportingProcess::ReportingProcess(const std::string& database_url,
                                   const std::map<std::string, std::string>& backends,
                                   const std::vector<std::string>& extra_flags, bool hs256_key)
    : ServiceProcess(CTG_REPORTING_BINARY, "ctg-reporting", database_url,
                     WithBackendMap(backends, extra_flags), hs256_key) {}

std::optional<grpc::health::v1::HealthCheckResponse::ServingStatus> CheckHealth(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  auto context = Context("", std::chrono::seconds(2));
  if (!stub->Check(context.get(), request, &response).ok()) return std::nullopt;
  return response.status();
}

bool WaitForHealth(const std::shared_ptr<grpc::Channel>& channel,
                   grpc::health::v1::HealthCheckResponse::ServingStatus wanted,
                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (CheckHealth(channel, "") == wanted) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

GatewayProcess::GatewayProcess(const std::string& routes, const std::string& key_file,
                               const std::vector<std::string>& extra_flags) {
  WriteFile(dir_.File("routes"), routes);
  std::vector<std::string> argv = {CTG_GATEWAY_BINARY,
                                   "--listen=127.0.0.1:0",
                                   "--metrics-listen=127.0.0.1:0",
                                   "--plaintext=true",
                                   "--routes-file=" + dir_.File("routes"),
                                   "--jwt-key-file=" + key_file,
                                   "--jwt-issuer=" + std::string(kIssuer),
                                   "--jwt-audience=" + std::string(kAudience),
                                   "--health-interval-ms=100",
                                   "--http-listen=127.0.0.1:0",
                                   "--port-file=" + dir_.File("ports")};
  // A flag given twice: the last one wins.
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  process_ = std::make_unique<ChildProcess>(argv, CleanEnvironment(), dir_.File("gateway.log"));
  std::tie(grpc_port_, metrics_port_) =
      WaitForPortFile(*process_, dir_.File("ports"), dir_.File("gateway.log"), "ctg-gateway");
  // "<grpc> <metrics> <http>": the third is the browser listener's.
  std::istringstream ports(ReadFile(dir_.File("ports")));
  int grpc = 0, metrics = 0;
  ports >> grpc >> metrics >> http_port_;
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

std::string PartnersRoutes(const std::vector<std::string>& backends) {
  std::string routes = "ctg.partners.v1.PartnerService = ";
  for (size_t i = 0; i < backends.size(); ++i) routes += (i ? ", " : "") + backends[i];
  return routes + "\n";
}

std::string Token(const std::vector<std::string>& roles, const std::string& organisation,
                  const std::string& subject) {
  TokenClaims claims;
  claims.subject = subject;
  claims.organisation = organisation;
  claims.issuer = kIssuer;
  claims.audience = kAudience;
  for (const auto& r : roles) {
    const auto role = ParseRole(r);
    if (!role) throw std::invalid_argument("unknown role " + r);
    claims.roles.push_back(*role);
  }
  claims.lifetime = std::chrono::minutes(10);  // within the 15 minutes a service token may live
  return MintHs256Token(claims, kJwtKey);
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token,
                                             std::chrono::seconds deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + deadline);
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

std::string HttpGet(int port, const std::string& path, const std::vector<std::string>& headers) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n";
    for (const auto& h : headers) request += h + "\r\n";
    request += "\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) {
      char buf[8192];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, n);
    }
  }
  close(fd);
  return answer;
}

LoadedVga LoadVga(const ServiceProcess& partners, const ServiceProcess& plan,
                  const ServiceProcess& indicators, const ServiceProcess& consents) {
  const std::string source = CTG_SOURCE_DIR;
  const CommandResult imported = RunCtgctl(
      {"import-convention", "--addr", partners.address(), "--token", Token({"registry_admin"}),
       "--document", source + "/deploy/seed/vga/convention.json", "--communes",
       std::string(CTG_SHARED_DIR) + "/data/vga_communes.csv"});
  LoadedVga vga;
  vga.convention = LineValue(imported.out, "Convention importée : ");
  vga.secretariat = LineValue(imported.out, "  secrétariat : ");
  vga.caf = LineValue(imported.out, "  caf : ");
  if (imported.exit_code != 0 || vga.convention.empty() || vga.secretariat.empty() ||
      vga.caf.empty()) {
    throw std::runtime_error("import-convention: " + imported.err + imported.out);
  }
  // The CDSF the bilans go to, as ./ctg up creates it.
  const CommandResult cdsf =
      RunCtgctl({"call", "--addr", partners.address(), "--token", Token({"registry_admin"}),
                 "ctg.partners.v1.PartnerService/CreateOrganisation",
                 "@" + source + "/deploy/seed/vga/cdsf.json"});
  std::smatch name;
  if (std::regex_search(cdsf.out, name, std::regex(R"re("name"\s*:\s*"([^"]+)")re"))) {
    vga.cdsf = name[1];
  }
  if (cdsf.exit_code != 0 || vga.cdsf.empty()) {
    throw std::runtime_error("creating the CDSF: " + cdsf.err + cdsf.out);
  }
  const std::vector<std::vector<std::string>> loads = {
      {"load-action-plan", "--addr", plan.address(), "--partners-addr", partners.address(),
       "--token", Token({"copil_secretariat"}, vga.secretariat), "--plan",
       source + "/deploy/seed/vga/action_plan.json"},
      {"load-consents", "--set", "demo", "--addr", consents.address(), "--partners-addr",
       partners.address(), "--key-file", partners.key_file()},
      {"load-indicators", "--addr", indicators.address(), "--partners-addr", partners.address(),
       "--action-plan-addr", plan.address(), "--token", Token({"caf_agent"}, vga.caf),
       "--catalogue", source + "/deploy/seed/vga/indicators.json"}};
  for (const auto& load : loads) {
    // load-consents mints its own tokens: with the issuer the test processes accept.
    const CommandResult r = RunCtgctl(load, {std::string("CTG_JWT_ISSUER=") + kIssuer});
    if (r.exit_code != 0) throw std::runtime_error(load[0] + ": " + r.err);
  }
  return vga;
}

double SampleValue(const std::string& page, const std::string& name) {
  const std::string prefix = "\n" + name + " ";
  const auto at = page.find(prefix);
  if (at == std::string::npos) return std::nan("");
  return std::atof(page.c_str() + at + prefix.size());
}

}  // namespace ctg::e2e
